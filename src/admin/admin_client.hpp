// The CLI's end of the admin socket (data_dir/admin.sock): one request, one
// answer line, over a fresh connection. Shared by `volley queue ...`,
// `volley user ...` (users_changed) and `volley send`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace volley::admin {

// Sends `request` (one line, without its newline), then `payload` (a send
// request's message bytes; "" for every other request), and returns the
// answer line without its newline. A daemon that answers before taking the
// whole payload (a refusal) is still heard. Errors are one line; when no
// daemon listens they begin "cannot reach the running daemon at PATH: ".
Result<std::string> exchange(const std::string& socket_path, std::string_view request, std::string_view payload = {});

// exchange() on data_dir's socket; returns the answer object when its "ok"
// is true, else the daemon's error (made terminal_safe) as the Error.
Result<nlohmann::ordered_json> call_daemon(const std::string& data_dir, std::string_view request,
                                           std::string_view payload = {});

}  // namespace volley::admin
