// The Authentication-Results header (RFC 8601) that carries the inbound
// SPF / DKIM / DMARC verdicts to the mailbox, and the removal of such
// headers that claim to be ours but arrived with the message (RFC 8601 5:
// a forged "dmarc=pass" from the sender must not survive). Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace volley::inbound {

struct MethodResult {
  std::string method;  // "spf", "dkim", "dmarc"
  std::string result;  // "pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy"
  std::string reason;  // optional free text, quoted in the header
  // ptype.property=value pairs: {"smtp.mailfrom", "example.com"}, {"header.d", "example.com"}.
  std::vector<std::pair<std::string, std::string>> properties;
  std::string comment;  // optional, e.g. "p=reject dis=none"; goes in parentheses after the result
};

// "Authentication-Results: <authserv_id>;\r\n\t<method>=<result> ...;\r\n..."
// ending in CRLF; "none" when there are no results (RFC 8601 2.2).
std::string authentication_results_header(std::string_view authserv_id, const std::vector<MethodResult>& results);

// `header_block` (the header section, CRLF line ends, with or without the
// empty line after it) without every Authentication-Results field whose
// authserv-id is `authserv_id` (ASCII case-insensitive); other fields are
// kept byte for byte. `removed` counts the fields taken out.
std::string remove_authentication_results(std::string_view header_block, std::string_view authserv_id,
                                          size_t* removed = nullptr);

// The authserv-id of one Authentication-Results field value (what follows
// the colon, unfolded or not): leading CFWS and comments skipped, up to ';',
// whitespace or '('. "" when there is none.
std::string authserv_id_of(std::string_view field_value);

}  // namespace volley::inbound
