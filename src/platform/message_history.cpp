#include "platform/message_history.hpp"

#include <sqlite3.h>

#include <iterator>

#include "util/sqlite.hpp"

namespace volley::platform {

namespace {

// One message and its recipients (replacing a record of that id); the
// caller holds the mutex and the transaction.
Result<void> write_message(PlatformDb& db, const HistoryMessage& m) {
  SqlStatement del(db.statements(), "DELETE FROM message_recipients WHERE message_id = ?1");
  if (!del.ok()) return db.error("preparing history delete");
  del.bind_text(1, m.id);
  if (del.step() != SQLITE_DONE) return db.error("replacing history");
  SqlStatement msg(db.statements(),
                   "INSERT OR REPLACE INTO messages(id, created_at, sender, subject, tags, campaign)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  if (!msg.ok()) return db.error("preparing history insert");
  msg.bind_text(1, m.id);
  msg.bind_int64(2, m.created_at);
  msg.bind_text(3, m.from);
  msg.bind_text(4, m.subject);
  msg.bind_text(5, m.tags_json);
  msg.bind_text(6, m.campaign);
  if (msg.step() != SQLITE_DONE) return db.error("recording message");
  SqlStatement rcpt(db.statements(),
                    "INSERT OR REPLACE INTO message_recipients(message_id, address, campaign, state, attempts, last_reply)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  if (!rcpt.ok()) return db.error("preparing recipient insert");
  for (const auto& r : m.recipients) {
    rcpt.reset();
    rcpt.bind_text(1, m.id);
    rcpt.bind_text(2, r.address);
    rcpt.bind_text(3, m.campaign);
    rcpt.bind_text(4, r.state);
    rcpt.bind_int64(5, r.attempts);
    rcpt.bind_text(6, r.last_reply);
    if (rcpt.step() != SQLITE_DONE) return db.error("recording recipient");
  }
  return {};
}

}  // namespace

Result<void> MessageHistory::record(const HistoryMessage& m) {
  std::lock_guard lock(db_.mutex());
  return db_.transaction([&]() -> Result<void> { return write_message(db_, m); });
}

Result<void> MessageHistory::record_batch(const std::vector<HistoryMessage>& batch) {
  if (batch.empty()) return {};
  std::lock_guard lock(db_.mutex());
  return db_.transaction([&]() -> Result<void> {
    for (const auto& m : batch)
      if (auto r = write_message(db_, m); !r) return r;
    return {};
  });
}

Result<std::optional<CampaignRecipientRecord>> MessageHistory::find_campaign_recipient(const std::string& campaign,
                                                                                       const std::string& address) {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(),
                  "SELECT message_id, state FROM message_recipients WHERE campaign = ?1 AND address = ?2 LIMIT 1");
  if (!st.ok()) return db_.error("preparing campaign recipient lookup");
  st.bind_text(1, campaign);
  st.bind_text(2, address);
  const int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<CampaignRecipientRecord>();
  if (rc != SQLITE_ROW) return db_.error("looking up campaign recipient");
  return std::optional<CampaignRecipientRecord>(CampaignRecipientRecord{st.column_text(0), st.column_text(1)});
}

Result<void> MessageHistory::update(const std::string& message_id, const std::vector<RecipientUpdate>& updates) {
  if (updates.empty()) return {};
  std::lock_guard lock(db_.mutex());
  return db_.transaction([&]() -> Result<void> {
    SqlStatement st(db_.statements(),
                    "UPDATE message_recipients SET state = ?3, last_reply = ?4, attempts = attempts + ?5"
                    " WHERE message_id = ?1 AND address = ?2");
    if (!st.ok()) return db_.error("preparing history update");
    for (const auto& u : updates) {
      st.reset();
      st.bind_text(1, message_id);
      st.bind_text(2, u.address);
      st.bind_text(3, u.state);
      st.bind_text(4, u.last_reply);
      st.bind_int64(5, u.attempt ? 1 : 0);
      if (st.step() != SQLITE_DONE) return db_.error("updating history");
    }
    return {};
  });
}

Result<std::optional<HistoryMessage>> MessageHistory::find(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  SqlStatement msg(db_.statements(), "SELECT id, created_at, sender, subject, tags, campaign FROM messages WHERE id = ?1");
  if (!msg.ok()) return db_.error("preparing history lookup");
  msg.bind_text(1, id);
  const int rc = msg.step();
  if (rc == SQLITE_DONE) return std::optional<HistoryMessage>();
  if (rc != SQLITE_ROW) return db_.error("looking up message");
  HistoryMessage m;
  m.id = msg.column_text(0);
  m.created_at = msg.column_int64(1);
  m.from = msg.column_text(2);
  m.subject = msg.column_text(3);
  m.tags_json = msg.column_text(4);
  m.campaign = msg.column_text(5);
  SqlStatement rcpt(db_.statements(),
                    "SELECT address, state, attempts, last_reply FROM message_recipients WHERE message_id = ?1"
                    " ORDER BY rowid");
  if (!rcpt.ok()) return db_.error("preparing recipient lookup");
  rcpt.bind_text(1, id);
  int r;
  while ((r = rcpt.step()) == SQLITE_ROW)
    m.recipients.push_back(HistoryRecipient{rcpt.column_text(0), rcpt.column_text(1), rcpt.column_int64(2), rcpt.column_text(3)});
  if (r != SQLITE_DONE) return db_.error("reading recipients");
  return std::optional<HistoryMessage>(std::move(m));
}

Result<void> MessageHistory::forget(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  return db_.transaction([&]() -> Result<void> {
    for (const char* sql : {"DELETE FROM message_recipients WHERE message_id = ?1", "DELETE FROM messages WHERE id = ?1"}) {
      SqlStatement st(db_.statements(), sql);
      if (!st.ok()) return db_.error("preparing history removal");
      st.bind_text(1, id);
      if (st.step() != SQLITE_DONE) return db_.error("removing history");
    }
    return {};
  });
}

Result<std::optional<CampaignRecord>> MessageHistory::find_campaign(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(), "SELECT id, created_at, sender, subject, tags FROM campaigns WHERE id = ?1");
  if (!st.ok()) return db_.error("preparing campaign lookup");
  st.bind_text(1, id);
  const int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<CampaignRecord>();
  if (rc != SQLITE_ROW) return db_.error("looking up campaign");
  return std::optional<CampaignRecord>(
      CampaignRecord{st.column_text(0), st.column_int64(1), st.column_text(2), st.column_text(3), st.column_text(4)});
}

Result<StateCounts> MessageHistory::campaign_counts(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  SqlStatement st(db_.statements(),
                  "SELECT state, count(*) FROM message_recipients WHERE campaign = ?1 GROUP BY state");
  if (!st.ok()) return db_.error("preparing campaign counts");
  st.bind_text(1, id);
  StateCounts c;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
    const std::string state = st.column_text(0);
    const int64_t n = st.column_int64(1);
    if (state == kStateQueued) c.queued = n;
    else if (state == kStateDeferred) c.deferred = n;
    else if (state == kStateDelivered) c.delivered = n;
    else if (state == kStateBounced) c.bounced = n;
    else if (state == kStateSuppressed) c.suppressed = n;
  }
  if (rc != SQLITE_DONE) return db_.error("counting campaign recipients");
  return c;
}

Result<int64_t> MessageHistory::trim(int64_t before) {
  std::lock_guard lock(db_.mutex());
  int64_t removed = 0;
  auto r = db_.transaction([&]() -> Result<void> {
    // Recipients first (they name their message), then messages, campaigns.
    constexpr const char* kTrims[] = {
        "DELETE FROM message_recipients WHERE message_id IN (SELECT id FROM messages WHERE created_at < ?1)",
        "DELETE FROM messages WHERE created_at < ?1",
        "DELETE FROM campaigns WHERE created_at < ?1",
    };
    for (size_t i = 0; i < std::size(kTrims); ++i) {
      SqlStatement st(db_.statements(), kTrims[i]);
      if (!st.ok()) return db_.error("preparing history trim");
      st.bind_int64(1, before);
      if (st.step() != SQLITE_DONE) return db_.error("trimming history");
      if (i == 1) removed = sqlite3_changes(db_.handle());
    }
    return {};
  });
  if (!r) return r.error();
  return removed;
}

}  // namespace volley::platform
