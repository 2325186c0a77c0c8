#include "admin/user_command.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <istream>
#include <iterator>
#include <memory>
#include <ostream>
#include <vector>

#include "admin/queue_command.hpp"
#include "auth/user_store.hpp"
#include "config/units.hpp"
#include "mailbox/maildir.hpp"
#include "mailbox/quota_usage.hpp"
#include "util/result.hpp"
#include "util/strings.hpp"

namespace volley::admin {
namespace {

using auth::UserStore;

// ---- password input -------------------------------------------------------

// Terminal state to put back if a signal kills us while echo is off;
// otherwise Ctrl-C at the prompt would leave the user's shell silent.
struct termios g_saved_termios;
constexpr int kRestoreSignals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};

extern "C" void restore_echo_and_reraise(int sig) {
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);  // async-signal-safe
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Disables echo on fd 0 for its lifetime.
class EchoOff {
 public:
  EchoOff() {
    if (::tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) return;
    struct sigaction sa {};
    sa.sa_handler = restore_echo_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kRestoreSignals); ++i) ::sigaction(kRestoreSignals[i], &sa, &old_[i]);
    struct termios quiet = g_saved_termios;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // still echo the newline so the next prompt starts on its own line
    active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    if (!active_) restore_handlers();
  }
  ~EchoOff() {
    if (!active_) return;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
    restore_handlers();
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  bool active() const { return active_; }

 private:
  void restore_handlers() {
    for (size_t i = 0; i < std::size(kRestoreSignals); ++i) ::sigaction(kRestoreSignals[i], &old_[i], nullptr);
  }
  struct sigaction old_[std::size(kRestoreSignals)] {};
  bool active_ = false;
};

// One line without its terminator (\n, and a \r before it from Windows tools).
Result<std::string> read_line(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) return make_error("no password given on standard input");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return make_error("empty password");
  return line;
}

Result<std::string> prompt_hidden(std::istream& in, std::ostream& err, const char* prompt) {
  // Echo goes off before the prompt appears, so fast typing is never shown.
  EchoOff echo_off;
  if (!echo_off.active()) return make_error("cannot disable terminal echo");
  err << prompt << std::flush;
  return read_line(in);
}

Result<std::string> read_password(std::istream& in, std::ostream& err, bool tty) {
  if (!tty) return read_line(in);
  auto first = prompt_hidden(in, err, "Password: ");
  if (!first) return first;
  auto second = prompt_hidden(in, err, "Repeat password: ");
  if (!second) return second;
  if (*first != *second) return make_error("passwords do not match");
  return first;
}

// ---- actions --------------------------------------------------------------

struct Io {
  std::string data_dir;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  bool tty;
  const UserQuotaOptions& quota;
};

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

int fail(const Io& io, const std::string& action, const std::string& reason) {
  io.err << "volley: user " << action << ": " << reason << "\n";
  return 1;
}

// --quota "500MB" / "0": a size as in volley.toml.
Result<uint64_t> parse_quota_option(const std::string& text) {
  auto v = config::parse_size(text);
  if (!v) return make_error(ErrorCode::Invalid, concat("bad --quota ", quoted(text, 40), " (expected bytes or e.g. 500MB)"));
  return *v;
}

int do_add(UserStore& store, const std::string& addr, const Io& io) {
  uint64_t quota = 0;
  if (!io.quota.quota.empty()) {
    auto q = parse_quota_option(io.quota.quota);
    if (!q) return fail(io, "add", q.error().message);
    quota = *q;
  }
  // Checked before prompting so nobody types a password for nothing; add()
  // re-checks atomically.
  if (auto found = store.find(addr); found) return fail(io, "add", "user " + addr + " already exists");
  else if (found.error().code != ErrorCode::NotFound) return fail(io, "add", found.error().message);
  auto password = read_password(io.in, io.err, io.tty);
  if (!password) return fail(io, "add", password.error().message);
  if (auto r = store.add(addr, *password, quota); !r) return fail(io, "add", r.error().message);
  (void)notify_users_changed(io.data_dir);  // no daemon: nothing to tell
  io.out << "added " << addr << "\n";
  return 0;
}

int do_passwd(UserStore& store, const std::string& addr, const Io& io) {
  if (auto found = store.find(addr); !found) return fail(io, "passwd", found.error().message);
  auto password = read_password(io.in, io.err, io.tty);
  if (!password) return fail(io, "passwd", password.error().message);
  if (auto r = store.set_password(addr, *password); !r) return fail(io, "passwd", r.error().message);
  (void)notify_users_changed(io.data_dir);  // no daemon: nothing to tell
  io.out << "password changed for " << addr << "\n";
  return 0;
}

int do_quota(UserStore& store, const std::string& addr, const Io& io) {
  if (io.quota.quota.empty()) return fail(io, "quota", "missing --quota SIZE (0 = the default, mailbox.quota)");
  auto q = parse_quota_option(io.quota.quota);
  if (!q) return fail(io, "quota", q.error().message);
  if (auto r = store.set_quota(addr, *q); !r) return fail(io, "quota", r.error().message);
  (void)notify_users_changed(io.data_dir);  // no daemon: nothing to tell
  if (*q == 0)
    io.out << "quota of " << addr << " is the default (mailbox.quota)\n";
  else
    io.out << "quota of " << addr << " set to " << *q << " bytes\n";
  return 0;
}

int do_del(UserStore& store, const std::string& addr, const Io& io) {
  if (auto r = store.remove(addr); !r) return fail(io, "del", r.error().message);
  (void)notify_users_changed(io.data_dir);  // no daemon: nothing to tell
  io.out << "deleted " << addr << "\n";
  return 0;
}

// Empty filter: everyone. "user@domain": that user. "domain": its users.
bool matches(const std::string& address, const std::string& filter) {
  if (filter.empty()) return true;
  if (filter.find('@') != std::string::npos) return address == filter;
  return address.size() > filter.size() && address.ends_with(filter) &&
         address[address.size() - filter.size() - 1] == '@';
}

// "usage=<bytes> messages=<n> quota=<bytes> (user|default)" or "quota=unlimited".
std::string usage_and_quota(const auth::UserRecord& u, const Io& io) {
  const uint64_t limit = u.quota_bytes != 0 ? u.quota_bytes : io.quota.default_quota;
  std::string s;
  auto dir = mailbox::maildir_for(io.data_dir + "/mail", u.address);
  // Recalculates a missing or stale maildirsize (with the limit in force),
  // as the daemon would on the next delivery.
  auto usage = dir ? mailbox::read_usage(*dir, {limit, 0}) : Result<mailbox::QuotaUsage>(dir.error());
  if (usage) {
    s = concat("usage=", std::to_string(usage->bytes), " messages=", std::to_string(usage->count));
  } else {
    s += "usage=? messages=?";
  }
  if (limit == 0) {
    s += " quota=unlimited";
  } else {
    s += " quota=";
    s += std::to_string(limit);
    s += u.quota_bytes != 0 ? " (user)" : " (default)";
  }
  return s;
}

int do_list(UserStore* store, const std::string& filter, const Io& io) {
  std::vector<auth::UserRecord> users;
  if (store) {
    auto r = store->list();
    if (!r) return fail(io, "list", r.error().message);
    users = std::move(*r);
  }
  bool any = false;
  for (const auto& u : users) {
    if (!matches(u.address, filter)) continue;
    any = true;
    io.out << u.address << " " << usage_and_quota(u, io) << "\n";
  }
  if (!any && filter.find('@') != std::string::npos) return fail(io, "list", "no such user " + filter);
  return 0;
}

// The argument of `list` may be a domain, which normalize_address rejects.
Result<std::string> list_filter(const std::string& arg) {
  std::string a = to_lower(trim(arg));
  if (a.empty() || a.find('@') == std::string::npos) return a;
  return auth::normalize_address(a);
}

bool known_action(const std::string& a) {
  return a == "add" || a == "del" || a == "passwd" || a == "list" || a == "quota";
}

}  // namespace

int run_user_command(const std::string& action, const std::string& address, const std::string& data_dir,
                     const std::vector<std::string>& local_domains, std::istream& in, std::ostream& out,
                     std::ostream& err, bool stdin_is_tty, const UserQuotaOptions& quota) {
  Io io{data_dir, in, out, err, stdin_is_tty, quota};
  if (!known_action(action)) {
    err << "volley: user: unknown action \"" << printable(action, 40) << "\" (expected add, del, passwd, list or quota)\n";
    return 1;
  }

  std::string target;
  if (action == "list") {
    auto f = list_filter(address);
    if (!f) return fail(io, action, f.error().message);
    target = *f;
  } else {
    if (trim(address).empty()) return fail(io, action, "missing USER@DOMAIN");
    // A new user must be able to be a mailbox here; del takes any name, so
    // one stored before names were checked can still be removed.
    auto a = action == "add" ? auth::validate_user_name(address, local_domains) : auth::normalize_address(address);
    if (!a && action == "del") a = to_lower(trim(address));
    if (!a) return fail(io, action, a.error().message);
    target = *a;
  }

  // Only `add` creates the data directory and database: a mistyped data_dir
  // given to list/del/passwd must not leave an empty database behind.
  std::string path = auth::user_db_path(data_dir);
  std::unique_ptr<UserStore> store;
  if (action == "add" || file_exists(path)) {
    auto opened = UserStore::open(path);
    if (!opened) return fail(io, action, opened.error().message);
    store = std::move(*opened);
  }

  if (action == "list") return do_list(store.get(), target, io);
  if (!store) return fail(io, action, "no such user " + target);
  if (action == "add") return do_add(*store, target, io);
  if (action == "passwd") return do_passwd(*store, target, io);
  if (action == "quota") return do_quota(*store, target, io);
  return do_del(*store, target, io);
}

}  // namespace volley::admin
