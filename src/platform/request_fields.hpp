// Checks shared by the request validators (messages, campaigns): named
// addresses, text that ends up in a header, header names, and reading
// typed fields out of a JSON body with errors that name the field.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/api_error.hpp"

namespace volley::platform {

// "a@b.example" or "Name <a@b.example>" / "\"Last, First\" <a@b.example>".
struct NamedAddress {
  std::string name;     // display name, unquoted, UTF-8; may be empty
  std::string address;  // addr-spec in canonical form (smtp::Mailbox::to_string)

  bool operator==(const NamedAddress&) const = default;
};

// Parses one address field. The addr-spec goes through the SMTP parser (the
// one place addresses are interpreted); ASCII only (a UTF-8 address would
// need SMTPUTF8 all the way and message/global), no address literals (a
// Message-ID needs the From domain). The display name may be any UTF-8 text
// without control characters. Returns the reason on failure.
std::optional<std::string> parse_named_address(std::string_view text, NamedAddress& out);

// True if `s` holds CR, LF or NUL: text that would end a header early or be
// cut by C code (header injection: "Subject: x\r\nBcc: victim").
bool has_line_break_or_nul(std::string_view s);

// RFC 5322 3.6.8 field-name: 1*ftext (printable ASCII except ':').
bool is_field_name(std::string_view name);
// Headers the builder writes itself or that only a transport may add (From,
// Date, Message-ID, MIME-Version, Content-*, DKIM-Signature, Received,
// List-Unsubscribe*, X-Volley-* ...): a caller setting them would forge or
// break the message.
bool is_reserved_header(std::string_view name);

// Parses a request body: 400 invalid_json for syntax (or nesting deeper than
// kMaxJsonDepth, checked before the recursive parser runs), 400 invalid_type
// unless it is an object.
ApiResult<nlohmann::json> parse_json_object(std::string_view body);

// Typed field access with errors naming the field ("to[2]", "metadata.k").
// A missing field and JSON null read as absent. Wrong type: 400 invalid_type.
std::optional<ApiError> read_string(const nlohmann::json& obj, std::string_view key, std::string& out);
std::optional<ApiError> read_string_array(const nlohmann::json& obj, std::string_view key,
                                          std::vector<std::string>& out);
// Rejects keys not in `known` (400 unknown_field): a typo such as "bbc"
// must not silently send to nobody.
std::optional<ApiError> check_known_fields(const nlohmann::json& obj, std::initializer_list<std::string_view> known,
                                           std::string_view where = "");

// 422 invalid_header_text if `value` has CR/LF/NUL, 422 too_long over `max`.
std::optional<ApiError> check_header_text(std::string_view field, std::string_view value, size_t max);
// Parses an address field into `out`: 422 invalid_address naming `field`.
std::optional<ApiError> read_address(std::string_view field, std::string_view text, NamedAddress& out);
// tags[]: count, length, no line breaks.
std::optional<ApiError> check_tags(const std::vector<std::string>& tags);

}  // namespace volley::platform
