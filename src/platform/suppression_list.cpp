#include "platform/suppression_list.hpp"

#include <sqlite3.h>

#include <algorithm>

#include "util/sqlite.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

constexpr std::pair<SuppressionReason, const char*> kReasons[] = {
    {SuppressionReason::HardBounce, "hard_bounce"},
    {SuppressionReason::Complaint, "complaint"},
    {SuppressionReason::Unsubscribe, "unsubscribe"},
    {SuppressionReason::Manual, "manual"},
};

Suppression read_row(SqlStatement& st) {
  Suppression s;
  s.domain = st.column_text(0);
  s.address = st.column_text(1);
  s.reason = parse_reason(st.column_text(2)).value_or(SuppressionReason::Manual);
  s.created_at = st.column_int64(3);
  s.detail = st.column_text(4);
  return s;
}

}  // namespace

const char* reason_name(SuppressionReason r) {
  for (const auto& [value, name] : kReasons)
    if (value == r) return name;
  return "manual";
}

std::optional<SuppressionReason> parse_reason(std::string_view name) {
  for (const auto& [value, text] : kReasons)
    if (name == text) return value;
  return std::nullopt;
}

Result<void> SuppressionList::add(Suppression s) {
  s.domain = to_lower(s.domain);
  s.address = to_lower(s.address);
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(),
                  "INSERT INTO suppressions(domain, address, reason, created_at, detail) VALUES(?1, ?2, ?3, ?4, ?5)"
                  " ON CONFLICT(domain, address) DO UPDATE SET reason = excluded.reason,"
                  " created_at = excluded.created_at, detail = excluded.detail");
  if (!st.ok()) return db_.error("preparing suppression insert");
  st.bind_text(1, s.domain);
  st.bind_text(2, s.address);
  st.bind_text(3, reason_name(s.reason));
  st.bind_int64(4, s.created_at);
  st.bind_text(5, s.detail);
  if (st.step() != SQLITE_DONE) return db_.error("adding suppression");
  std::unique_lock filter_lock(filter_mu_);
  if (filter_) filter_->insert(s.address);  // (rolled back later: a false positive, which is safe)
  return {};
}

Result<void> SuppressionList::remove(std::optional<std::string> domain, const std::string& address) {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(), domain ? "DELETE FROM suppressions WHERE address = ?1 AND domain = ?2"
                                       : "DELETE FROM suppressions WHERE address = ?1");
  if (!st.ok()) return db_.error("preparing suppression delete");
  st.bind_text(1, to_lower(address));
  if (domain) st.bind_text(2, to_lower(*domain));
  if (st.step() != SQLITE_DONE) return db_.error("removing suppression");
  if (sqlite3_changes(db_.handle()) == 0) return make_error(ErrorCode::NotFound, concat(address, " is not suppressed"));
  return {};
}

Result<void> SuppressionList::refresh_filter_locked() {
  const auto now = std::chrono::steady_clock::now();
  if (filter_ && now < next_check_ && !filter_->full()) return {};
  auto version = sqlite_data_version(db_.handle(), kPlatformStore);
  if (!version) return version.error();
  if (filter_ && *version == data_version_ && !filter_->full()) {
    std::unique_lock filter_lock(filter_mu_);
    next_check_ = now + recheck_;
    return {};
  }
  SqlStatement count(db_.statements(), "SELECT count(*) FROM suppressions");
  if (!count.ok() || count.step() != SQLITE_ROW) return db_.error("counting suppressions");
  AddressFilter fresh(static_cast<size_t>(count.column_int64(0)) * 2);
  SqlStatement st(db_.statements(), "SELECT address FROM suppressions");
  if (!st.ok()) return db_.error("preparing suppression scan");
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) fresh.insert(st.column_text(0));
  if (rc != SQLITE_DONE) return db_.error("reading suppressions");
  std::unique_lock filter_lock(filter_mu_);
  filter_ = std::move(fresh);
  data_version_ = *version;
  next_check_ = now + recheck_;
  return {};
}

Result<std::optional<Suppression>> SuppressionList::find(const std::string& sender_domain, const std::string& address) {
  const std::string lower = to_lower(address);
  {
    std::shared_lock filter_lock(filter_mu_);
    if (filter_ && std::chrono::steady_clock::now() < next_check_ && !filter_->may_contain(lower))
      return std::optional<Suppression>();
  }
  std::lock_guard lock(db_.mutex());
  if (auto r = refresh_filter_locked(); !r) return r.error();
  {
    std::shared_lock filter_lock(filter_mu_);
    if (!filter_->may_contain(lower)) return std::optional<Suppression>();
  }
  // The domain's own entry first, then the one for every domain.
  SqlStatement st(db_.statements(),
                  "SELECT domain, address, reason, created_at, detail FROM suppressions"
                  " WHERE address = ?1 AND domain IN (?2, '') ORDER BY domain DESC LIMIT 1");
  if (!st.ok()) return db_.error("preparing suppression lookup");
  st.bind_text(1, lower);
  st.bind_text(2, to_lower(sender_domain));
  const int rc = st.step();
  if (rc == SQLITE_ROW) return std::optional<Suppression>(read_row(st));
  if (rc != SQLITE_DONE) return db_.error("looking up suppression");
  return std::optional<Suppression>();
}

Result<std::vector<Suppression>> SuppressionList::list(const std::string& after_address,
                                                       const std::string& after_domain, size_t limit) {
  limit = std::clamp<size_t>(limit, 1, kMaxSuppressionPage);
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(),
                  "SELECT domain, address, reason, created_at, detail FROM suppressions"
                  " WHERE (address, domain) > (?1, ?2) ORDER BY address, domain LIMIT ?3");
  if (!st.ok()) return db_.error("preparing suppression list");
  st.bind_text(1, to_lower(after_address));
  st.bind_text(2, to_lower(after_domain));
  st.bind_int64(3, static_cast<int64_t>(limit));
  std::vector<Suppression> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(read_row(st));
  if (rc != SQLITE_DONE) return db_.error("listing suppressions");
  return out;
}

}  // namespace volley::platform
