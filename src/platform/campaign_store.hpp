// Campaigns accepted by POST /v1/campaigns and not yet wholly in the queue.
// A campaign is answered 202 once its request is HERE (committed), before a
// single message is built: 100,000 recipients are expanded into the queue
// afterwards, a batch at a time, by the campaign runner
// (api/campaign_runner.hpp), which records how far it got after each batch.
// After a crash or restart the runner resumes every unfinished campaign from
// its last recorded batch (see resume_state), so an accepted campaign is
// never lost and never sent twice.
// Thread-safe (the PlatformDb's mutex).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/message_history.hpp"
#include "platform/platform_db.hpp"
#include "util/result.hpp"

namespace volley::platform {

struct CampaignJob {
  std::string id;
  std::string request;      // the request body as accepted (JSON), parsed again to resume
  int64_t total = 0;        // recipients in the request
  int64_t next_index = 0;   // recipients [0, next_index) are in the queue (or suppressed)
  bool done = false;
  std::string client_ip;    // who sent the request, and with which key (Received:, logs)
  std::string key_name;
};

class CampaignStore {
 public:
  explicit CampaignStore(PlatformDb& db) : db_(db) {}

  // The campaign's record (GET /v1/campaigns) and its job (request, total,
  // client_ip, key_name; next_index 0), in one transaction.
  Result<void> create(const CampaignRecord& record, const CampaignJob& job);
  // Campaigns still being expanded, oldest first (request bodies included).
  Result<std::vector<CampaignJob>> unfinished();
  // Progress without the request body; nullopt for an unknown id.
  Result<std::optional<CampaignJob>> progress(const std::string& id);
  // Recipients [0, next_index) are done; `done` when that is all of them
  // (the request body is then dropped: it is no longer needed).
  Result<void> advance(const std::string& id, int64_t next_index, bool done);
  // Forgets finished jobs of campaigns created before `before`.
  Result<int64_t> trim(int64_t before);

 private:
  PlatformDb& db_;
};

}  // namespace volley::platform
