// `volley send` on the admin socket: the one request that carries a payload.
// The request is a JSON line like every other admin request, and names the
// exact length of the message bytes that follow it:
//
//   {"cmd":"send","from":"A","to":["B",...],"subject":"S","size":N}\n<N bytes>
//                                                  -> {"ok":true,"id":"QUEUEID"}
//
// The message is length-prefixed rather than line-based because it may
// contain anything, a line that looks like an admin request included; the
// daemon reads exactly N bytes and never parses them as requests. "subject"
// is optional. A refused header (bad field, N over limits.max_message_size)
// is answered and the connection closed: the bytes after it cannot be told
// apart from a next request. Pure encoding here; admin_server.cpp does I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley::admin {

// Longest --subject: with "Subject: " and CRLF it stays within RFC 5322's
// 998-octet line, unfolded.
constexpr size_t kMaxSubjectBytes = 900;

struct SendRequest {
  std::string from;                // envelope sender and, when missing, the From: header
  std::vector<std::string> to;     // envelope recipients, as given (validated)
  std::optional<std::string> subject;  // Subject: to add when the message has none
  uint64_t size = 0;               // message bytes that follow the line
};

// What the daemon accepts, from its current configuration.
struct SendLimits {
  uint64_t max_message_size = 0;  // limits.max_message_size
  size_t max_recipients = 0;      // limits.max_recipients
};

// The request line (no newline); the caller sends "\n" and the bytes.
std::string make_send_request(const SendRequest& request);

// nullopt: `line` is not a send request (another command, or not JSON at
// all; handle_admin_request answers it). Otherwise the checked request, or
// why it is refused (one line, safe to send back): unknown or mistyped
// fields, addresses the SMTP grammar refuses, no or too many recipients, a
// subject with CR/LF/NUL or not UTF-8, a size that is not an integer or is
// over the limit.
std::optional<Result<SendRequest>> parse_send_request(std::string_view line, const SendLimits& limits);

// The problem with one address given to `volley send` (--from / --to), or
// "" when the SMTP grammar accepts it (smtp::parse_mailbox, UTF-8 allowed).
std::string address_problem(std::string_view address);
// The problem with a --subject value, or "".
std::string subject_problem(std::string_view subject);

// Answers to a send request (one line, no newline).
std::string make_send_answer(const Result<std::string>& queue_id);

}  // namespace volley::admin
