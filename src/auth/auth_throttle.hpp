// Per-client-address authentication failure control, shared by all
// connections and all protocols (SMTP now, POP3 and IMAP later), so a
// brute-forcer gains nothing by reconnecting or opening many connections.
//
// Two mechanisms, both keyed by client address:
//  * an attempt budget (Postfix anvil's smtpd_client_auth_rate_limit idea):
//    at most `max_failures_per_window` failed attempts per `budget_window`.
//    admit() reserves one attempt before the password is checked (so 40
//    parallel connections cannot all slip past a nearly spent budget);
//    release() gives it back when the attempt succeeded or could not be
//    judged. Beyond the budget, admit() refuses without any password check.
//  * a delay before each 535 that grows with the address's failures:
//    delay = min(base * failures_in_window, max), remembered for `window`.
// Entries expire; the table is bounded (oldest evicted) so a flood of
// distinct addresses cannot exhaust memory. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace volley::auth {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  struct Settings {
    std::chrono::milliseconds base_delay{1000};
    std::chrono::milliseconds max_delay{10000};
    std::chrono::milliseconds window{15 * 60 * 1000};
    unsigned max_failures_per_window = 10;  // 0 = no budget
    std::chrono::milliseconds budget_window{60 * 1000};
    size_t max_entries = 100000;
  };
  explicit AuthThrottle(Settings s) : s_(s) {}
  void update_settings(Settings s);

  // Reserves one attempt from the address's budget; false when it is spent
  // (answer a temporary refusal and check nothing).
  bool admit(const std::string& ip, Clock::time_point now = Clock::now());
  // Returns a reserved attempt: it succeeded, or failed for a reason that is
  // not the client's (storage). A failed attempt keeps its reservation.
  void release(const std::string& ip, Clock::time_point now = Clock::now());
  // Records a failure and returns how long to wait before answering it.
  std::chrono::milliseconds record_failure(const std::string& ip, Clock::time_point now = Clock::now());
  // Failures remembered for this address (after expiry).
  unsigned failures(const std::string& ip, Clock::time_point now = Clock::now());
  // A success does not wipe the address's failure record: a botnet guessing
  // through one valid account would otherwise reset its own penalty.

  size_t size();
  // How long a spent budget lasts at most (a refused client's Retry-After).
  std::chrono::milliseconds budget_window();

 private:
  struct Entry {
    unsigned count = 0;               // failures, for the delay
    Clock::time_point last;           // last failure
    unsigned attempts = 0;            // reserved or failed attempts in the budget window
    Clock::time_point budget_start;   // start of the current budget window
  };
  bool expired_locked(const Entry& e, Clock::time_point now) const;
  Entry* entry_locked(const std::string& ip, Clock::time_point now, bool create);
  void expire_locked(Clock::time_point now);
  Settings s_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> table_;
};

}  // namespace volley::auth
