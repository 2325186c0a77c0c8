// libFuzzer target: the Maildir++ maildirsize parser, its limits line and the
// S= size of Maildir file names, over arbitrary bytes. None may crash, hang
// or read out of bounds; a parsed file must format and parse back to the
// same limits and usage.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mailbox/quota_usage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace volley::mailbox;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)parse_quota_limits(in);
  (void)size_from_file_name(in);
  auto parsed = parse_maildirsize(in);
  if (!parsed) return 0;
  if (parsed->usage.bytes < 0 || parsed->usage.count < 0) std::abort();
  auto again = parse_maildirsize(format_maildirsize(parsed->limits, parsed->usage));
  if (!again || !(again->usage == parsed->usage) || !(again->limits == parsed->limits)) std::abort();
  return 0;
}
