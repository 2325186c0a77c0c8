// `volley queue list|show ID|delete ID|retry ID|retry --all|flush DOMAIN`:
// asks the running daemon over its admin socket (data_dir/admin.sock,
// admin/admin_protocol.hpp). The daemon owns the queue, so the CLI never
// reads queue files itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace volley::admin {

struct QueueCommand {
  std::string action;  // "list", "show", "delete", "retry", "flush"
  std::string id;      // show, delete, retry
  bool all = false;    // retry: every deferred message instead of `id`
  std::string state;   // list filters ("" = any)
  std::string domain;  // list filter; flush: the destination domain
  size_t limit = 0;    // list: 0 = all
  bool json = false;   // list, show, retry, flush: machine-readable output
};

// Returns the process exit code: 0 success; 1 with a one-line
// "volley: queue ACTION: reason" on `err` for any failure, including a
// daemon that is not running, and a retry with neither (or both) ID and
// --all or a flush without a domain, refused before anything is sent.
int run_queue_command(const QueueCommand& cmd, const std::string& data_dir, std::ostream& out, std::ostream& err);

// Tells a daemon running on `data_dir` that the users changed, so it re-reads
// them before this returns. Fails when no daemon answers (it would see the
// change within a second or two anyway).
bool notify_users_changed(const std::string& data_dir);

// Display helpers, public for tests. Age: "42s", "3m12s", "2h5m", "4d";
// size: "812B", "4.0K", "12K", "1.5M" (1024-based, as ls -h).
std::string format_age(int64_t seconds);
std::string format_size(uint64_t bytes);
// Untrusted text (addresses, headers) made safe for a terminal: control
// characters other than tab, DEL and the C1 controls become visible escapes,
// so a header cannot carry escape sequences to the operator's terminal.
std::string terminal_safe(std::string_view s);

}  // namespace volley::admin
