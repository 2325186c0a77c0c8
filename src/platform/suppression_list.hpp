// Addresses the platform must not mail, per sender domain (SPEC section 6):
// a hard bounce, a complaint or an unsubscribe puts a recipient here for the
// domain that sent to it; an operator can add one by hand (reason manual),
// for one sender domain or for all of them (domain ""). Every message and
// campaign sent through the API is checked against it before it is queued.
// Thread-safe (the PlatformDb's mutex).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  explicit SuppressionList(PlatformDb& db) : db_(db) {}

  // Adds or replaces the entry for (domain, address). Addresses and domains
  // are lowercased here.
  Result<void> add(Suppression s);
  // Removes the entry for (domain, address); with domain nullopt, every
  // entry of the address. NotFound when there was none.
  Result<void> remove(std::optional<std::string> domain, const std::string& address);
  // The entry that stops mail from `sender_domain` to `address`: its own, or
  // one for every domain. nullopt when the address may be mailed.
  Result<std::optional<Suppression>> find(const std::string& sender_domain, const std::string& address);
  // Ordered by (address, domain), starting after `after_address` /
  // `after_domain` (the cursor of the previous page); at most `limit`.
  Result<std::vector<Suppression>> list(const std::string& after_address, const std::string& after_domain, size_t limit);

 private:
  PlatformDb& db_;
};

}  // namespace volley::platform
