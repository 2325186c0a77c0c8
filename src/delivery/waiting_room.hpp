// Messages waiting for a full destination (delivery.max_jobs_per_destination).
//
// When a round leaves recipients untried because their destination already
// holds its fill of jobs, the engine drops the body and parks the message's
// id here under that destination; each job the destination hands to a
// connection releases one id, which is then loaded and dispatched again.
// Without this a deep backlog to one destination was read back from disk
// about once a second per message while it waited (a 100,000-recipient
// campaign spent its CPU loading and dropping bodies); now it is read once
// more when its turn comes. Postfix's qmgr keeps per-destination queues for
// the same reason.
//
// Ids only (about 100 bytes a message). The scheduler keeps every parked id
// too, due at a recheck time, so admin retry and a lost wake-up still work;
// the engine asks parked_on() before it loads a due id. State only, no I/O:
// unit-tested directly.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace volley::delivery {

class WaitingRoom {
 public:
  // Parks `id` behind everything already waiting for destination `key`
  // (moving it if it waited elsewhere).
  void park(const std::string& id, const std::string& key);
  // The destination `id` waits for, or null.
  const std::string* parked_on(const std::string& id) const;
  void unpark(const std::string& id);
  // Takes up to `n` ids waiting for `key`, oldest first, for which `live`
  // says yes (ids it refuses are unparked and dropped: deleted, or being
  // delivered already).
  std::vector<std::string> release(const std::string& key, size_t n,
                                   const std::function<bool(const std::string&)>& live);
  // Destinations with ids waiting (some entries may be stale).
  std::vector<std::string> keys() const;
  size_t size() const { return parked_.size(); }

 private:
  // id -> destination: the truth. A destination's queue may still hold ids
  // unparked or moved since (lazy deletion: release() skips them).
  std::unordered_map<std::string, std::string> parked_;
  std::unordered_map<std::string, std::deque<std::string>> queues_;
};

}  // namespace volley::delivery
