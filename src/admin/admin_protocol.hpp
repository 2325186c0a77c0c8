// The admin socket protocol between `volley queue ...` and the daemon: one
// JSON object per line each way. Pure encoding, no I/O, so the whole protocol
// is unit-testable against a fake queue.
//
//   {"cmd":"list","state":"","domain":"","limit":0}  -> {"ok":true,"messages":[entry...]}
//   {"cmd":"count"}                                  -> {"ok":true,"count":N}
//   {"cmd":"show","id":"ID"}                         -> {"ok":true,"message":{...}}
//   {"cmd":"delete","id":"ID"}                       -> {"ok":true,"id":"ID"}
//   {"cmd":"retry","id":"ID"}                        -> {"ok":true,"count":N}
//   {"cmd":"retry","all":true}                       -> {"ok":true,"count":N}
//   {"cmd":"flush","domain":"example.com"}           -> {"ok":true,"count":N}
//   {"cmd":"users_changed"}                          -> {"ok":true} once the daemon re-read its users
//   anything wrong                                   -> {"ok":false,"error":"one line"}
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "queue/queue_admin.hpp"
#include "util/result.hpp"

namespace volley::admin {

// Longest request line accepted (without its newline). Requests are tiny;
// the cap only bounds what a confused or hostile peer can make us buffer.
constexpr size_t kMaxRequestBytes = 64 * 1024;
// Longest header block returned by "show"; the rest is cut (headers_truncated).
constexpr size_t kMaxHeaderBytes = 64 * 1024;
// Longest domain "flush" accepts (RFC 5321 4.5.3.1.2).
constexpr size_t kMaxFlushDomainBytes = 255;

// data_dir/admin.sock: both the daemon and the CLI derive it from the config.
std::string socket_path(const std::string& data_dir);

// Answers one request line (without its newline) with one response line
// (without its newline). Never throws: every failure, including bad JSON and
// exceptions from the queue, becomes {"ok":false,"error":...}. Bytes that are
// not UTF-8 (headers, addresses) are replaced by U+FFFD so the answer is
// always valid JSON. Returns "" only when even the error cannot be built
// (out of memory); the server then drops the connection.
// `summary`, when given, receives what the daemon logs about the request.
struct RequestSummary {
  std::string cmd;     // as sent (clipped), "" when unreadable
  std::string id;      // show/delete/retry of one message
  std::string domain;  // flush, lowercased, once valid
  size_t count = 0;    // retry/flush: messages made due now
  bool ok = false;
  std::string error;   // the error sent back
};
// `users_changed`: how the daemon re-reads its users when `volley user ...`
// says they changed (absent: the command is refused).
using UsersChanged = std::function<Result<void>()>;
std::string handle_admin_request(std::string_view line, queue::QueueAdmin& q,
                                 RequestSummary* summary = nullptr, const UsersChanged& users_changed = {}) noexcept;

// Request builders for the client side (no newline).
std::string make_list_request(const queue::ListFilter& filter);
std::string make_count_request();
std::string make_show_request(const std::string& id);
std::string make_delete_request(const std::string& id);
// retry: deferred messages due now; flush: every message for a domain
// (queue::QueueAdmin::retry, retry_all, flush).
std::string make_retry_request(const std::string& id);
std::string make_retry_all_request();
std::string make_flush_request(const std::string& domain);
std::string make_users_changed_request();

// The header block of a message: the content up to and including the line
// ending before the first empty line (all of it when there is none), cut at
// `max` bytes. Sets `truncated` when cut.
std::string_view header_block(std::string_view content, size_t max, bool& truncated);

}  // namespace volley::admin
