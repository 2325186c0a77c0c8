#include "auth/user_name.hpp"

#include <algorithm>

#include "smtp/address.hpp"
#include "util/strings.hpp"

namespace volley::auth {
namespace {

bool is_space_or_control(unsigned char c) { return c <= 0x20 || c == 0x7f; }

std::string_view trim_all(std::string_view s) {
  while (!s.empty() && is_space_or_control(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_space_or_control(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Error invalid(std::string_view address, std::string_view why) {
  return make_error(ErrorCode::Invalid,
                    "invalid address \"" + printable(trim_all(address), 80) + "\" (" + std::string(why) + ")");
}

// Parsed and ASCII-lowercased, or the parser's reason.
Result<smtp::Mailbox> parse(std::string_view address) {
  auto parsed = smtp::parse_mailbox(trim_all(address), /*allow_utf8=*/true);
  if (!parsed.ok) {
    std::string why = parsed.error.detail.empty() ? "expected user@domain" : parsed.error.detail;
    return invalid(address, why + ", expected user@domain");
  }
  return parsed.value.path.mailbox;
}

}  // namespace

Result<std::string> normalize_address(std::string_view address) {
  auto mb = parse(address);
  if (!mb) return mb.error();
  return mb->lookup_key();
}

Result<std::string> normalize_user_name(std::string_view address) {
  auto mb = parse(address);
  if (!mb) return mb.error();
  if (const char* why = smtp::mailbox_name_problem(*mb)) return invalid(address, why);
  return mb->lookup_key();
}

Result<std::string> validate_user_name(std::string_view address, const std::vector<std::string>& local_domains) {
  auto name = normalize_user_name(address);
  if (!name) return name;
  const std::string domain = name->substr(name->rfind('@') + 1);
  if (std::find(local_domains.begin(), local_domains.end(), domain) == local_domains.end())
    return make_error(ErrorCode::Invalid, "\"" + domain + "\" is not a local domain (domains.local in the configuration)");
  return name;
}

}  // namespace volley::auth
