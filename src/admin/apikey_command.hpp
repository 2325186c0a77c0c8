// `volley apikey create|list|revoke`: HTTP API keys in data_dir/apikeys.db.
// Works while the server runs (SQLite in WAL mode; the daemon notices a
// change within about a second and a revoked key stops working then).
#pragma once

#include <iosfwd>
#include <string>

namespace volley::admin {

struct ApiKeyOptions {
  std::string action;          // create | list | revoke
  std::string name;            // --name (create, revoke)
  std::string scope = "send";  // --scope send|read|admin (create)
};

// create prints the key alone on `out` (shown once, never stored), and a
// note on `err`; list prints one line per key:
//   NAME scope=send created=2026-01-02T03:04:05Z active
//   NAME scope=read created=... revoked=2026-...
// (never the key or its hash); revoke prints nothing. Returns the process
// exit code: 0 success, 1 failure with "volley: apikey ACTION: reason".
int run_apikey_command(const ApiKeyOptions& options, const std::string& data_dir, std::ostream& out,
                       std::ostream& err);

}  // namespace volley::admin
