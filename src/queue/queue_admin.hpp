// What queue administration (the admin socket, `volley queue ...`) may ask
// of the queue. Implemented by the spool; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "queue/envelope.hpp"
#include "util/result.hpp"

namespace volley::queue {

struct QueueEntry {
  std::string id;
  int64_t received_at = 0;   // unix seconds
  std::string sender;        // "" = null sender
  uint32_t recipients = 0;
  uint64_t size = 0;         // content bytes
  std::string state;         // "queued" (not tried yet, or being delivered) | "deferred" (waiting for a retry)
  std::vector<std::string> domains;  // distinct recipient domains, lowercased
  int64_t next_attempt = 0;  // unix seconds; 0 = as soon as possible
};

struct ListFilter {
  std::string state;   // "" = any
  std::string domain;  // "" = any; matches one of the recipient domains
  size_t limit = 0;    // 0 = no limit
};

class QueueAdmin {
 public:
  virtual ~QueueAdmin() = default;
  // Entries in queue-id (= arrival) order.
  virtual std::vector<QueueEntry> list(const ListFilter& filter) const = 0;
  virtual size_t count() const = 0;
  // The whole message (envelope, metadata, content) or nullopt.
  virtual std::optional<Message> show(const std::string& id) const = 0;
  // Removes a message from the queue durably; error if there is no such id.
  virtual Result<void> remove(const std::string& id) = 0;

  // Delivery control, answered by the running daemon's delivery engine
  // (the spool alone cannot deliver). Each returns how many messages were
  // made due now; an error when there is no such message or no engine.
  virtual Result<size_t> retry(const std::string& id) { return make_error("delivery is not running"); }
  virtual Result<size_t> retry_all() { return make_error("delivery is not running"); }
  // Every message with a recipient at `domain`.
  virtual Result<size_t> flush(const std::string& domain) { return make_error("delivery is not running"); }
};

}  // namespace volley::queue
