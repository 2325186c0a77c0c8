#include "platform/event_log.hpp"

#include <sqlite3.h>

#include <algorithm>

#include "util/sqlite.hpp"

namespace volley::platform {
namespace {

constexpr std::pair<EventType, const char*> kTypes[] = {
    {EventType::Received, "received"},         {EventType::Delivered, "delivered"},
    {EventType::Deferred, "deferred"},         {EventType::Bounced, "bounced"},
    {EventType::Suppressed, "suppressed"},     {EventType::Unsubscribed, "unsubscribed"},
    {EventType::Complained, "complained"},
};

}  // namespace

const char* event_type_name(EventType t) {
  for (const auto& [value, name] : kTypes)
    if (value == t) return name;
  return "received";
}

bool parse_event_type(std::string_view name, EventType& out) {
  for (const auto& [value, text] : kTypes)
    if (name == text) {
      out = value;
      return true;
    }
  return false;
}

Result<void> EventLog::append(std::vector<Event>& events) {
  if (events.empty()) return {};
  std::lock_guard lock(db_.mutex());
  return db_.transaction([&]() -> Result<void> {
    SqlStatement st(db_.statements(),
                    "INSERT OR IGNORE INTO events(at, type, message_id, recipient, campaign, detail, dedup)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!st.ok()) return db_.error("preparing event insert");
    for (auto& e : events) {
      st.reset();
      st.bind_int64(1, e.at);
      st.bind_text(2, event_type_name(e.type));
      st.bind_text(3, e.message_id);
      st.bind_text(4, e.recipient);
      st.bind_text(5, e.campaign);
      st.bind_text(6, e.detail.empty() ? std::string_view("{}") : std::string_view(e.detail));
      // NULL (no binding) when there is no key: NULLs never collide in UNIQUE.
      if (!e.dedup.empty()) st.bind_text(7, e.dedup);
      if (st.step() != SQLITE_DONE) return db_.error("appending event");
      e.id = sqlite3_changes(db_.handle()) > 0 ? sqlite3_last_insert_rowid(db_.handle()) : 0;
    }
    return {};
  });
}

Result<EventPage> EventLog::list(int64_t after, const EventType* type, size_t limit) {
  limit = std::clamp<size_t>(limit, 1, kMaxEventPage);
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(),
                  type ? "SELECT id, at, type, message_id, recipient, campaign, detail FROM events"
                         " WHERE id > ?1 AND type = ?3 ORDER BY id LIMIT ?2"
                       : "SELECT id, at, type, message_id, recipient, campaign, detail FROM events"
                         " WHERE id > ?1 ORDER BY id LIMIT ?2");
  if (!st.ok()) return db_.error("preparing event list");
  st.bind_int64(1, after);
  st.bind_int64(2, static_cast<int64_t>(limit));
  if (type) st.bind_text(3, event_type_name(*type));
  EventPage page;
  page.next = after;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
    Event e;
    e.id = st.column_int64(0);
    e.at = st.column_int64(1);
    (void)parse_event_type(st.column_text(2), e.type);
    e.message_id = st.column_text(3);
    e.recipient = st.column_text(4);
    e.campaign = st.column_text(5);
    e.detail = st.column_text(6);
    page.next = e.id;
    page.events.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return db_.error("listing events");
  return page;
}

Result<int64_t> EventLog::count_for_campaign(const std::string& campaign, EventType type) {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(), "SELECT count(*) FROM events WHERE campaign = ?1 AND type = ?2");
  if (!st.ok()) return db_.error("preparing event count");
  st.bind_text(1, campaign);
  st.bind_text(2, event_type_name(type));
  if (st.step() != SQLITE_ROW) return db_.error("counting events");
  return st.column_int64(0);
}

Result<void> EventLog::forget_message(const std::string& message_id) {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(), "DELETE FROM events WHERE message_id = ?1");
  if (!st.ok()) return db_.error("preparing event removal");
  st.bind_text(1, message_id);
  if (st.step() != SQLITE_DONE) return db_.error("removing events");
  return {};
}

Result<int64_t> EventLog::trim(int64_t before) {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(), "DELETE FROM events WHERE at < ?1");
  if (!st.ok()) return db_.error("preparing event trim");
  st.bind_int64(1, before);
  if (st.step() != SQLITE_DONE) return db_.error("trimming events");
  return static_cast<int64_t>(sqlite3_changes(db_.handle()));
}

}  // namespace volley::platform
