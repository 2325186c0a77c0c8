#include "app/privileges.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "util/file_system.hpp"
#include "util/log.hpp"

namespace volley::app {
namespace {

// data_dir is at most mail/<domain>/<user>/<folder>/{cur,new,tmp} deep; a
// deeper tree is not ours, and each level holds a file descriptor.
constexpr int kMaxDepth = 32;

struct Owner {
  uid_t uid;
  gid_t gid;
};

bool owned_by(const struct stat& st, Owner to) { return st.st_uid == to.uid && st.st_gid == to.gid; }

// Gives one non-directory entry to the user. The entry is opened O_PATH |
// O_NOFOLLOW and changed through that descriptor, so what is checked is what
// is changed even if the name is swapped meanwhile.
Result<bool> give_entry(int dir_fd, const char* name, const std::string& path, Owner to) {
  int fd = ::openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;  // removed while we walk: nothing to give
    return errno_error("cannot open " + path, errno);
  }
  struct stat st {};
  bool changed = false;
  Result<bool> result = false;
  if (::fstat(fd, &st) != 0) {
    result = errno_error("cannot stat " + path, errno);
  } else if (!owned_by(st, to)) {
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      // Another name for this file exists, maybe outside data_dir: a hard
      // link the user planted to a system file. Never give it away.
      log::warn("server.data_dir_skipped").kv("path", path).kv("reason", "file has several hard links");
    } else if (::fchownat(fd, "", to.uid, to.gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
      result = errno_error("cannot change the owner of " + path, errno);
    } else {
      changed = true;
    }
  }
  ::close(fd);
  if (!result) return result;
  return changed;
}

// Walks the directory open at `fd` (taken over), giving every entry to the
// user; directories are opened O_NOFOLLOW before they are changed or entered.
Result<void> give_tree(int fd, const std::string& path, Owner to, int depth, uint64_t& changed) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return errno_error("cannot stat " + path, err);
  }
  if (!owned_by(st, to)) {
    if (::fchown(fd, to.uid, to.gid) != 0) {
      int err = errno;
      ::close(fd);
      return errno_error("cannot change the owner of " + path, err);
    }
    ++changed;
  }
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return errno_error("cannot read " + path, err);
  }
  std::vector<std::string> subdirs;
  Result<void> result;
  errno = 0;
  while (struct dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {  // some file systems do not say: ask
      struct stat est {};
      is_dir = ::fstatat(::dirfd(dir), e->d_name, &est, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(est.st_mode);
    }
    if (is_dir) {
      subdirs.push_back(name);  // entered after the listing, one descriptor at a time
      continue;
    }
    auto given = give_entry(::dirfd(dir), name.c_str(), path + "/" + name, to);
    if (!given) {
      result = given.error();
      break;
    }
    if (given.value()) ++changed;
  }
  for (size_t i = 0; result && i < subdirs.size(); ++i) {
    const std::string sub_path = path + "/" + subdirs[i];
    if (depth + 1 > kMaxDepth) {
      result = make_error(ErrorCode::Invalid, sub_path + " is nested too deeply to be Volley's data");
      break;
    }
    int sub = ::openat(::dirfd(dir), subdirs[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      if (errno == ENOENT) continue;
      if (errno == ELOOP || errno == ENOTDIR) {  // replaced by a link or a file since the listing
        auto given = give_entry(::dirfd(dir), subdirs[i].c_str(), sub_path, to);
        if (!given) result = given.error();
        else if (given.value()) ++changed;
        continue;
      }
      result = errno_error("cannot open " + sub_path, errno);
      break;
    }
    result = give_tree(sub, sub_path, to, depth + 1, changed);
  }
  ::closedir(dir);
  return result;
}

}  // namespace

Result<std::optional<RunAs>> resolve_run_as(const std::string& user) {
  if (user.empty()) return std::optional<RunAs>();
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  int rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) return errno_error("server.user: cannot look up \"" + user + "\"", rc);
  if (found == nullptr)
    return make_error(ErrorCode::Invalid, "server.user: no such user \"" + user +
                                              "\" (create it, e.g. useradd --system --home-dir /var/lib/volley "
                                              "--shell /usr/sbin/nologin " + user + ")");
  if (found->pw_uid == 0)
    return make_error(ErrorCode::Invalid,
                      "server.user: \"" + user + "\" has uid 0; name an unprivileged user for the daemon to run as");
  RunAs to{user, found->pw_uid, found->pw_gid};
  const uid_t me = ::geteuid();
  if (me == 0) return std::optional<RunAs>(std::move(to));
  if (me == to.uid) return std::optional<RunAs>();  // started as the user already (systemd User=)
  return make_error(ErrorCode::Invalid, "server.user is \"" + user + "\" (uid " + std::to_string(to.uid) +
                                            ") but volley runs as uid " + std::to_string(me) +
                                            ": start it as root (it binds its listeners, then runs as " + user +
                                            ") or as " + user);
}

Result<uint64_t> hand_over_data_dir(const std::string& data_dir, const RunAs& to, bool create) {
  if (create && ::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error("cannot create data_dir " + data_dir, errno);
  // data_dir itself may be a symbolic link to another volume (the operator's
  // choice, written in a root-owned config): followed, unlike links below it.
  int fd = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && !create) return uint64_t{0};
    return errno_error("cannot open data_dir " + data_dir, errno);
  }
  uint64_t changed = 0;
  if (auto r = give_tree(fd, data_dir, Owner{to.uid, to.gid}, 0, changed); !r) return r.error();
  return changed;
}

Result<void> drop_privileges(const RunAs& to) {
  if (::initgroups(to.name.c_str(), to.gid) != 0) return errno_error("initgroups(" + to.name + ")", errno);
  if (::setgid(to.gid) != 0) return errno_error("setgid(" + std::to_string(to.gid) + ")", errno);
  if (::setuid(to.uid) != 0) return errno_error("setuid(" + std::to_string(to.uid) + ")", errno);
  // As Postfix's set_ugid: trust, but verify that there is no way back.
  if (::getuid() != to.uid || ::geteuid() != to.uid || ::getgid() != to.gid || ::getegid() != to.gid)
    return make_error("the switch to " + to.name + " did not take");
  if (::setuid(0) == 0) return make_error("the switch to " + to.name + " can be undone (setuid(0) succeeded)");
  return {};
}

}  // namespace volley::app
