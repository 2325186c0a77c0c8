// Addresses the platform must not mail, per sender domain (SPEC section 6):
// a hard bounce, a complaint or an unsubscribe puts a recipient here for the
// domain that sent to it; an operator can add one by hand (reason manual),
// for one sender domain or for all of them (domain ""). Every message and
// campaign sent through the API is checked against it before it is queued.
// Thread-safe (the PlatformDb's mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "platform/address_filter.hpp"
#include "platform/platform_db.hpp"

namespace volley::platform {

enum class SuppressionReason { HardBounce, Complaint, Unsubscribe, Manual };

const char* reason_name(SuppressionReason r);  // "hard_bounce" ...
std::optional<SuppressionReason> parse_reason(std::string_view name);

struct Suppression {
  std::string domain;   // lowercased sender domain; "" = every sender domain
  std::string address;  // lowercased
  SuppressionReason reason = SuppressionReason::Manual;
  int64_t created_at = 0;
  std::string detail;   // why, for people: the bounce reply, the campaign ...
};

// The most entries list() returns at once.
inline constexpr size_t kMaxSuppressionPage = 1000;

class SuppressionList {
 public:
  // `recheck`: how often find() asks SQLite whether another connection
  // changed the table (PRAGMA data_version) before it trusts its filter.
  explicit SuppressionList(PlatformDb& db, std::chrono::milliseconds recheck = std::chrono::seconds(1))
      : db_(db), recheck_(recheck) {}

  // Adds or replaces the entry for (domain, address). Addresses and domains
  // are lowercased here.
  Result<void> add(Suppression s);
  // Removes the entry for (domain, address); with domain nullopt, every
  // entry of the address. NotFound when there was none.
  Result<void> remove(std::optional<std::string> domain, const std::string& address);
  // The entry that stops mail from `sender_domain` to `address`: its own, or
  // one for every domain. nullopt when the address may be mailed. An
  // address the filter has never seen is answered without SQLite.
  Result<std::optional<Suppression>> find(const std::string& sender_domain, const std::string& address);
  // Ordered by (address, domain), starting after `after_address` /
  // `after_domain` (the cursor of the previous page); at most `limit`.
  Result<std::vector<Suppression>> list(const std::string& after_address, const std::string& after_domain, size_t limit);

 private:
  // Builds the filter from the table when there is none, it outgrew its
  // size, or another connection changed the table; call with the database
  // mutex held.
  Result<void> refresh_filter_locked();

  PlatformDb& db_;
  std::chrono::milliseconds recheck_;
  // Every suppressed address (any domain), for "certainly not suppressed".
  // Written with the database mutex and filter_mu_ held; read with filter_mu_.
  std::shared_mutex filter_mu_;
  std::optional<AddressFilter> filter_;
  uint64_t data_version_ = 0;
  std::chrono::steady_clock::time_point next_check_{};
};

}  // namespace volley::platform
