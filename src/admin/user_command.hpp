// `volley user add|del|passwd|list [USER@DOMAIN]`: mailbox user administration
// against data_dir/users.db. Works while the server runs: the store is SQLite
// in WAL mode, and after a change the CLI tells a running daemon over
// admin.sock to re-read its in-memory users (it also polls for changes).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace volley::admin {

// add/passwd read the password: one line from `in` when stdin is not a
// terminal (scripts), otherwise prompted twice on `err` with echo disabled on
// fd 0. list takes an optional USER@DOMAIN (that user only) or DOMAIN filter.
// Returns the process exit code: 0 success, 1 failure, with a one-line
// "volley: user ACTION: reason" on `err`.
// `add` refuses a name that cannot be a mailbox in one of `local_domains`
// (auth::validate_user_name).
int run_user_command(const std::string& action, const std::string& address, const std::string& data_dir,
                     const std::vector<std::string>& local_domains, std::istream& in, std::ostream& out,
                     std::ostream& err, bool stdin_is_tty);

}  // namespace volley::admin
