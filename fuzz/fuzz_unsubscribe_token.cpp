// libFuzzer target: open_unsubscribe_token on arbitrary text. Nothing but a
// token we made opens; when the fuzzer builds one from a made token (the
// seed corpus has some), the fields must survive a make/open round trip.
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/unsubscribe_token.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string secret(32, 'k');
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto opened = volley::platform::open_unsubscribe_token(secret, in);
  if (!opened.ok()) return 0;
  auto again = volley::platform::make_unsubscribe_token(secret, opened.value());
  CHECK(again.ok());
  auto reopened = volley::platform::open_unsubscribe_token(secret, again.value());
  CHECK(reopened.ok() && reopened.value() == opened.value());
  return 0;
}
