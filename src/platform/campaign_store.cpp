#include "platform/campaign_store.hpp"

#include <sqlite3.h>

#include "util/sqlite.hpp"

namespace volley::platform {

Result<void> CampaignStore::create(const CampaignRecord& c, const CampaignJob& j) {
  std::lock_guard lock(db_.mutex());
  return db_.transaction([&]() -> Result<void> {
    SqlStatement rec(db_.statements(),
                     "INSERT OR REPLACE INTO campaigns(id, created_at, sender, subject, tags) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!rec.ok()) return db_.error("preparing campaign insert");
    rec.bind_text(1, c.id);
    rec.bind_int64(2, c.created_at);
    rec.bind_text(3, c.from);
    rec.bind_text(4, c.subject);
    rec.bind_text(5, c.tags_json);
    if (rec.step() != SQLITE_DONE) return db_.error("recording campaign");
    SqlStatement job(db_.statements(),
                     "INSERT OR REPLACE INTO campaign_jobs(id, created_at, request, total, next_index, done,"
                     " client_ip, key_name) VALUES(?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)");
    if (!job.ok()) return db_.error("preparing campaign job insert");
    job.bind_text(1, c.id);
    job.bind_int64(2, c.created_at);
    job.bind_text(3, j.total == 0 ? std::string_view() : std::string_view(j.request));
    job.bind_int64(4, j.total);
    job.bind_int64(5, j.total == 0 ? 1 : 0);
    job.bind_text(6, j.client_ip);
    job.bind_text(7, j.key_name);
    if (job.step() != SQLITE_DONE) return db_.error("recording campaign job");
    return {};
  });
}

Result<std::vector<CampaignJob>> CampaignStore::unfinished() {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(),
                  "SELECT id, request, total, next_index, client_ip, key_name FROM campaign_jobs"
                  " WHERE done = 0 ORDER BY created_at, id");
  if (!st.ok()) return db_.error("preparing campaign job list");
  std::vector<CampaignJob> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW)
    out.push_back(CampaignJob{st.column_text(0), st.column_text(1), st.column_int64(2), st.column_int64(3), false,
                              st.column_text(4), st.column_text(5)});
  if (rc != SQLITE_DONE) return db_.error("listing campaign jobs");
  return out;
}

Result<std::optional<CampaignJob>> CampaignStore::progress(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(), "SELECT total, next_index, done FROM campaign_jobs WHERE id = ?1");
  if (!st.ok()) return db_.error("preparing campaign progress");
  st.bind_text(1, id);
  const int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<CampaignJob>();
  if (rc != SQLITE_ROW) return db_.error("reading campaign progress");
  return std::optional<CampaignJob>(CampaignJob{id, "", st.column_int64(0), st.column_int64(1), st.column_int64(2) != 0, "", ""});
}

Result<void> CampaignStore::advance(const std::string& id, int64_t next_index, bool done) {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(),
                  done ? "UPDATE campaign_jobs SET next_index = ?2, done = 1, request = '' WHERE id = ?1"
                       : "UPDATE campaign_jobs SET next_index = ?2 WHERE id = ?1");
  if (!st.ok()) return db_.error("preparing campaign progress update");
  st.bind_text(1, id);
  st.bind_int64(2, next_index);
  if (st.step() != SQLITE_DONE) return db_.error("recording campaign progress");
  return {};
}

Result<int64_t> CampaignStore::trim(int64_t before) {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(), "DELETE FROM campaign_jobs WHERE done = 1 AND created_at < ?1");
  if (!st.ok()) return db_.error("preparing campaign job trim");
  st.bind_int64(1, before);
  if (st.step() != SQLITE_DONE) return db_.error("trimming campaign jobs");
  return static_cast<int64_t>(sqlite3_changes(db_.handle()));
}

}  // namespace volley::platform
