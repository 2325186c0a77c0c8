// `volley user add|del|passwd|list|quota [USER@DOMAIN]`: mailbox user administration
// against data_dir/users.db. Works while the server runs: the store is SQLite
// in WAL mode, and after a change the CLI tells a running daemon over
// admin.sock to re-read its in-memory users (it also polls for changes).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace volley::admin {

// Quota options of `user add` and `user quota`, and what `list` needs to
// show usage.
struct UserQuotaOptions {
  std::string quota;           // --quota as given ("500MB", "0" = the default); "" = not given
  uint64_t default_quota = 0;  // mailbox.quota, shown for users without their own
};

// add/passwd read the password: one line from `in` when stdin is not a
// terminal (scripts), otherwise prompted twice on `err` with echo disabled on
// fd 0. list takes an optional USER@DOMAIN (that user only) or DOMAIN filter.
// `quota` sets a user's own quota (--quota required; 0 = back to the
// default, mailbox.quota). `list` prints one line per user:
//   alice@example.com usage=1234 messages=3 quota=524288000 (user|default)
// or quota=unlimited; usage comes from the mailbox's maildirsize.
// Returns the process exit code: 0 success, 1 failure, with a one-line
// "volley: user ACTION: reason" on `err`.
// `add` refuses a name that cannot be a mailbox in one of `local_domains`
// (auth::validate_user_name).
int run_user_command(const std::string& action, const std::string& address, const std::string& data_dir,
                     const std::vector<std::string>& local_domains, std::istream& in, std::ostream& out,
                     std::ostream& err, bool stdin_is_tty, const UserQuotaOptions& quota = {});

}  // namespace volley::admin
