// server.user (SPEC section 2): a daemon started as root binds its listeners,
// gives data_dir to an unprivileged user and then runs as that user, as
// Postfix's master does with mail_owner. Nothing here runs after the drop.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "util/result.hpp"

namespace volley::app {

struct RunAs {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// What server.user asks of this process. nullopt: nothing to do (no user
// configured, or already running as that user, e.g. systemd's User=volley).
// A RunAs: we are root and must switch to it. An error (Invalid) with a
// one-line reason: the user does not exist, has uid 0 (Postfix refuses a
// mail_owner that is root too), or a non-root process runs as someone else
// and cannot become the user.
Result<std::optional<RunAs>> resolve_run_as(const std::string& user);

// Makes `data_dir` and everything under it owned by `to` (Postfix's
// postfix-script does this for its queue), so what an earlier root run or a
// root `volley user add` created stays usable after the drop. Creates
// data_dir (0700) when it is missing and `create` is set; a missing data_dir
// is otherwise left alone. Below data_dir it never follows a symbolic link
// (openat with O_NOFOLLOW, fchownat AT_SYMLINK_NOFOLLOW) and skips files with
// more than one hard link: data_dir is writable by the user, and a link
// planted there must not hand a system file to it. Returns the number of
// entries whose owner changed.
Result<uint64_t> hand_over_data_dir(const std::string& data_dir, const RunAs& to, bool create);

// Supplementary groups (initgroups), then gid, then uid; then checks that
// root cannot be regained. On failure the caller must exit: running on as
// root after the operator asked for a user is never acceptable.
Result<void> drop_privileges(const RunAs& to);

}  // namespace volley::app
