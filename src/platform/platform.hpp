// The sending platform's state, opened once by the daemon: the database
// (platform_db.hpp) and the stores over it, the delivery observer that
// keeps them current, and the secret that signs tokens (unsubscribe links,
// bounce addresses). Thread-safe; lives as long as the daemon.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "platform/campaign_store.hpp"
#include "platform/delivery_events.hpp"
#include "platform/event_log.hpp"
#include "platform/message_history.hpp"
#include "platform/platform_db.hpp"
#include "platform/suppression_list.hpp"

namespace volley::platform {

// How long the message history and events are kept: long enough to answer
// "what happened to the message I sent last week", bounded so the database
// does not grow without end.
inline constexpr int64_t kHistoryRetentionSeconds = 30 * 24 * 3600;

class Platform {
 public:
  // Opens data_dir/platform.db and data_dir/platform.key (32 random bytes,
  // made 0600 on first use).
  static Result<std::unique_ptr<Platform>> open(const std::string& data_dir);

  SuppressionList& suppressions() { return suppressions_; }
  EventLog& events() { return events_; }
  PlatformDb& db() { return *db_; }  // atomically() across the stores
  MessageHistory& history() { return history_; }
  CampaignStore& campaigns() { return campaigns_; }
  DeliveryEvents& delivery_events() { return delivery_events_; }
  const std::array<uint8_t, 32>& secret() const { return secret_; }

  // Drops history and events older than the retention period.
  void trim(int64_t now);

 private:
  Platform(std::unique_ptr<PlatformDb> db, std::array<uint8_t, 32> secret);

  std::unique_ptr<PlatformDb> db_;
  SuppressionList suppressions_;
  EventLog events_;
  MessageHistory history_;
  CampaignStore campaigns_;
  DeliveryEvents delivery_events_;
  std::array<uint8_t, 32> secret_;
};

// Reads the secret at `path`, or makes one (O_EXCL, 0600, fsync'd) when
// there is none: a secret that changed would void every link already sent.
Result<std::array<uint8_t, 32>> load_or_create_secret(const std::string& path);

}  // namespace volley::platform
