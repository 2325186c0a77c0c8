// The platform's append-only event log (SPEC section 6): received,
// delivered, deferred, bounced, suppressed, unsubscribed, complained — one
// row per recipient and happening, with an id that only grows, so GET
// /v1/events pages through it with `after=<last id>` and never misses or
// repeats one.
//
// Durability: append() returns once its transaction committed (it survives
// kill -9; platform_db.hpp). Callers append BEFORE they make the action's
// own record durable where they can (delivery results: before the queue
// records them), so a crash in between repeats the action and its event
// rather than losing the event: at least once, like the mail itself. An
// event that may be appended again after a restart (received, replayed from
// the queue) carries a dedup key and is stored once.
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/platform_db.hpp"

namespace volley::platform {

enum class EventType { Received, Delivered, Deferred, Bounced, Suppressed, Unsubscribed, Complained };

const char* event_type_name(EventType t);  // "received" ...
bool parse_event_type(std::string_view name, EventType& out);

struct Event {
  int64_t id = 0;  // assigned by append()
  int64_t at = 0;  // unix seconds
  EventType type = EventType::Received;
  std::string message_id;  // queue id ("" when none: a manual unsubscribe)
  std::string recipient;
  std::string campaign;    // "" when not sent by a campaign
  std::string detail;      // a JSON object as text ("{}" when empty)
  std::string dedup;       // "" or a key that makes the event idempotent
};

struct EventPage {
  std::vector<Event> events;
  int64_t next = 0;  // the cursor for the next page: the last id returned (or `after`)
};

// A page is at most this long (GET /v1/events?limit= is clamped to it).
inline constexpr size_t kMaxEventPage = 1000;

class EventLog {
 public:
  explicit EventLog(PlatformDb& db) : db_(db) {}
  // The database the stores share (PlatformDb::atomically spans them).
  PlatformDb& db() const { return db_; }

  // Appends all of `events` in one transaction (assigns their ids); an
  // event whose dedup key is already stored is skipped.
  Result<void> append(std::vector<Event>& events);
  // Events with id > after, of `type` when given, oldest first.
  Result<EventPage> list(int64_t after, const EventType* type, size_t limit);
  // How many events of `type` a campaign has (campaign counters).
  Result<int64_t> count_for_campaign(const std::string& campaign, EventType type);
  // Removes the events of a message that was never accepted after all (its
  // queue commit failed after they were written).
  Result<void> forget_message(const std::string& message_id);
  // Forgets events older than `before` (unix seconds): the log is bounded.
  Result<int64_t> trim(int64_t before);

 private:
  PlatformDb& db_;
};

}  // namespace volley::platform
