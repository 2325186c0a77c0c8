#include "platform/verp.hpp"

#include "platform/token_encoding.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

constexpr std::string_view kPrefix = "bounces+";
constexpr size_t kMacBytes = 10;
constexpr size_t kMacChars = 16;   // base32 of 10 bytes
constexpr size_t kMaxIndexDigits = 7;

bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

std::string mac_of(std::string_view secret, std::string_view id_upper, std::string_view index) {
  const auto mac = hmac_sha256(derive_key(secret, "volley verp v1"), concat(id_upper, ":", index));
  return base32_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), kMacBytes));
}

Error invalid(const char* why) { return make_error(ErrorCode::Invalid, why); }

}  // namespace

Result<std::string> bounce_address(std::string_view secret, std::string_view message_id, uint32_t index,
                                   std::string_view domain) {
  if (secret.size() != 32) return invalid("VERP secret must be 32 bytes");
  if (message_id.empty() || message_id.size() > kMaxVerpMessageIdChars)
    return invalid("VERP message id must be 1 to 30 characters");
  for (char c : message_id)
    if (!is_alnum(c)) return invalid("VERP message id may hold only letters and digits");
  if (index > kMaxVerpRecipientIndex) return invalid("VERP recipient index too large");
  if (domain.empty()) return invalid("VERP domain empty");
  const std::string id = to_upper(message_id), idx = std::to_string(index);
  return concat(kPrefix, id, "-", idx, "-", mac_of(secret, id, idx), "@", domain);
}

Result<BounceTarget> parse_bounce_address(std::string_view secret, std::string_view local) {
  if (secret.size() != 32) return invalid("VERP secret must be 32 bytes");
  if (istarts_with(local, kPrefix)) local.remove_prefix(kPrefix.size());
  // ID-INDEX-MAC: the id and the MAC hold no '-', so split at the first and last.
  const size_t first = local.find('-'), last = local.rfind('-');
  if (first == local.npos || first == last) return invalid("not a VERP address");
  const std::string_view id = local.substr(0, first), idx = local.substr(first + 1, last - first - 1),
                         mac = local.substr(last + 1);
  if (id.empty() || id.size() > kMaxVerpMessageIdChars || mac.size() != kMacChars || idx.empty() ||
      idx.size() > kMaxIndexDigits || (idx.size() > 1 && idx[0] == '0'))
    return invalid("not a VERP address");
  for (char c : id)
    if (!is_alnum(c)) return invalid("not a VERP address");
  uint32_t index = 0;
  for (char c : idx) {
    if (c < '0' || c > '9') return invalid("not a VERP address");
    index = index * 10 + static_cast<uint32_t>(c - '0');
  }
  const std::string id_upper = to_upper(id);
  const std::string expected = mac_of(secret, id_upper, idx);
  const std::string given = to_lower(mac);
  if (!equal_constant_time(reinterpret_cast<const uint8_t*>(expected.data()),
                           reinterpret_cast<const uint8_t*>(given.data()), kMacChars))
    return invalid("VERP address does not verify");
  return BounceTarget{id_upper, index};
}

}  // namespace volley::platform
