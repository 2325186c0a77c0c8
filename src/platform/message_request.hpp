// POST /v1/messages: the JSON body parsed and validated into a
// MessageRequest (SPEC section 6, "HTTP API (contract)"). Everything a later
// stage relies on is checked here, once: addresses parse, no header-bound
// text can inject a header, caller headers are legal and not ours, the
// attachments decode, and the message fits the configured limits.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/api_error.hpp"
#include "platform/request_fields.hpp"

namespace volley::platform {

struct Attachment {
  std::string filename;      // UTF-8, no line breaks; RFC 2231-encoded by the builder when needed
  std::string content_type;  // "type/subtype", lowercased; application/octet-stream when not given
  std::string content;       // the decoded bytes
};

struct MessageRequest {
  NamedAddress from;
  std::vector<NamedAddress> to, cc, bcc;
  std::optional<NamedAddress> reply_to;
  std::string subject, text, html;  // UTF-8; at least one of text and html is non-empty
  std::vector<std::pair<std::string, std::string>> headers;  // caller headers, by name (JSON objects are unordered)
  std::vector<Attachment> attachments;
  std::vector<std::string> tags;
  std::vector<std::pair<std::string, std::string>> metadata;
};

// The operator's limits that apply (from [limits]).
struct MessageLimits {
  size_t max_recipients = 1000;                     // limits.max_recipients: to + cc + bcc, after de-duplication
  uint64_t max_message_bytes = 50ull * 1024 * 1024;  // limits.max_message_size, against the estimated encoded size
};

// Body bytes -> request, or 400 (invalid JSON, wrong types, unknown fields)
// / 422 (missing from, no recipient, invalid address, CR/LF/NUL in header
// text, bad or reserved header names, bad base64, no text and no html, too
// many recipients, too large, over a tag/metadata/attachment limit).
ApiResult<MessageRequest> parse_message_request(std::string_view body, const MessageLimits& limits);
ApiResult<MessageRequest> message_request_from_json(const nlohmann::json& body, const MessageLimits& limits);

// The envelope recipients: to + cc + bcc addr-specs in that order, each once
// (compared case-insensitively, as receivers do in practice).
std::vector<std::string> envelope_recipients(const MessageRequest& request);

// The size the built message will have, roughly: bodies as written, base64
// attachments at 4/3 plus line breaks, headers. Checked against
// max_message_bytes so an oversized request is refused before it is built.
uint64_t estimated_message_bytes(const MessageRequest& request);

}  // namespace volley::platform
