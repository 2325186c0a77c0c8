// libFuzzer target: parse_bounce_address on arbitrary local parts. Whatever
// parses must be something bounce_address makes again, with the same MAC.
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/verp.hpp"
#include "util/strings.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string secret(32, 's');
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto t = volley::platform::parse_bounce_address(secret, in);
  if (!t.ok()) return 0;
  auto again = volley::platform::bounce_address(secret, t->message_id, t->recipient_index, "d.example");
  CHECK(again.ok());
  const std::string local = again->substr(0, again->rfind('@'));
  CHECK(local.size() <= 64);
  std::string_view rest = in;
  if (volley::istarts_with(rest, "bounces+")) rest.remove_prefix(8);
  CHECK(volley::iequals(local.substr(8), rest));
  return 0;
}
