// What GET /v1/messages/{id} and GET /v1/campaigns/{id} report: each
// message sent through the API (or a campaign) with its recipients' states,
// attempts and last replies. Written when the message is queued and after
// each delivery round, and kept after the message leaves the queue, for a
// bounded time (trim()). Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/platform_db.hpp"

namespace volley::platform {

// Recipient states as the API names them.
inline constexpr const char* kStateQueued = "queued";
inline constexpr const char* kStateDeferred = "deferred";
inline constexpr const char* kStateDelivered = "delivered";
inline constexpr const char* kStateBounced = "bounced";
inline constexpr const char* kStateSuppressed = "suppressed";

struct HistoryRecipient {
  std::string address;
  std::string state = kStateQueued;
  int64_t attempts = 0;
  std::string last_reply;
};

struct HistoryMessage {
  std::string id;  // the queue id
  int64_t created_at = 0;
  std::string from;
  std::string subject;
  std::string tags_json = "[]";  // a JSON array of strings, as given
  std::string campaign;          // "" when not part of a campaign
  std::vector<HistoryRecipient> recipients;
};

struct CampaignRecord {
  std::string id;
  int64_t created_at = 0;
  std::string from;
  std::string subject;
  std::string tags_json = "[]";
};

// Where one campaign recipient's message stands (resuming a campaign).
struct CampaignRecipientRecord {
  std::string message_id;
  std::string state;
};

// Recipients per state, for GET /v1/campaigns/{id}.
struct StateCounts {
  int64_t queued = 0, deferred = 0, delivered = 0, bounced = 0, suppressed = 0;
};

// One recipient's result after a delivery round.
struct RecipientUpdate {
  std::string address;
  std::string state;       // kStateDeferred / kStateDelivered / kStateBounced
  std::string last_reply;
  bool attempt = true;     // false: a report that came back later (a DSN), not a delivery attempt
};

class MessageHistory {
 public:
  explicit MessageHistory(PlatformDb& db) : db_(db) {}

  // Records a message and its recipients (replacing a record of that id).
  Result<void> record(const HistoryMessage& m);
  // The same for many messages in one transaction (a campaign's batch).
  Result<void> record_batch(const std::vector<HistoryMessage>& batch);
  // Applies one delivery round's results: each named recipient's state and
  // last reply, attempts + 1 (for updates that are attempts). Unknown messages (not sent through the API)
  // are ignored.
  Result<void> update(const std::string& message_id, const std::vector<RecipientUpdate>& updates);
  Result<std::optional<HistoryMessage>> find(const std::string& id);
  // Removes a message's record (one that was never accepted after all).
  Result<void> forget(const std::string& id);

  // Campaign records are written by CampaignStore::create.
  Result<std::optional<CampaignRecord>> find_campaign(const std::string& id);
  Result<StateCounts> campaign_counts(const std::string& id);
  // The message a campaign sent (or recorded as suppressed) to `address`.
  Result<std::optional<CampaignRecipientRecord>> find_campaign_recipient(const std::string& campaign,
                                                                          const std::string& address);

  // Forgets messages (and campaigns) created before `before` (unix seconds).
  Result<int64_t> trim(int64_t before);

 private:
  PlatformDb& db_;
};

}  // namespace volley::platform
