#include "mailbox/folders.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "mailbox/maildir.hpp"
#include "util/strings.hpp"

namespace volley::mailbox {
namespace {

constexpr const char* kFolderMarker = "maildirfolder";
// Dovecot uses "..DOVECOT-TRASH"; names starting ".." are never folders.
constexpr const char* kTrashPrefix = "..volley-trash.";

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string dir_of(const std::string& maildir, std::string_view name) { return concat(maildir, "/.", name); }

}  // namespace

Result<void> validate_folder_name(std::string_view name) {
  auto bad = [&](const char* why) {
    return make_error(ErrorCode::Invalid, concat("not a usable folder name (", why, "): ", quoted(name, 80)));
  };
  if (name.empty() || name.size() > kMaxFolderName) return bad("length");
  if (iequals(name, "INBOX")) return bad("INBOX is the mailbox itself");
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos) return bad("empty part");
  for (unsigned char c : name)
    if (c < 0x20 || c >= 0x7F || c == '/' || c == '\\' || c == '*' || c == '%' || c == '~') return bad("character");
  return {};
}

Result<std::string> folder_path(std::string_view maildir, std::string_view name) {
  if (auto ok = validate_folder_name(name); !ok) return ok.error();
  return dir_of(std::string(maildir), name);
}

Result<void> create_folder(FileSystem& fs, const std::string& maildir, std::string_view name) {
  auto path = folder_path(maildir, name);
  if (!path) return path.error();
  if (is_dir(*path)) return make_error(ErrorCode::AlreadyExists, concat("folder ", quoted(name, 80), " exists"));
  if (auto made = make_maildir(fs, *path); !made) return made;
  auto marker = fs.open(concat(*path, "/", kFolderMarker), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (!marker) return marker.error();
  (void)fs.close(*marker);
  return fs.fsync_dir(maildir);
}

Result<void> rename_folder(FileSystem& fs, const std::string& maildir, std::string_view from, std::string_view to) {
  if (auto ok = validate_folder_name(from); !ok) return ok;
  if (auto ok = validate_folder_name(to); !ok) return ok;
  if (!is_dir(dir_of(maildir, from))) return make_error(ErrorCode::NotFound, concat("no folder ", quoted(from, 80)));
  // Renaming into its own subtree would orphan it.
  if (to.size() > from.size() && to.substr(0, from.size()) == from && to[from.size()] == '.')
    return make_error(ErrorCode::Invalid, "a folder cannot move inside itself");
  auto listed = list_folders(maildir);
  if (!listed) return listed.error();
  std::vector<std::pair<std::string, std::string>> moves;  // old name -> new name
  const std::string child_prefix = concat(from, ".");
  for (const auto& f : *listed) {
    std::string target;
    if (f == from) {
      target = std::string(to);
    } else if (f.compare(0, child_prefix.size(), child_prefix) == 0) {
      target = concat(to, ".", std::string_view(f).substr(child_prefix.size()));
    } else {
      continue;
    }
    if (auto ok = validate_folder_name(target); !ok) return ok;
    if (is_dir(dir_of(maildir, target)))
      return make_error(ErrorCode::AlreadyExists, concat("folder ", quoted(target, 80), " exists"));
    moves.emplace_back(f, std::move(target));
  }
  for (const auto& [old_name, new_name] : moves)
    if (auto r = fs.rename(dir_of(maildir, old_name), dir_of(maildir, new_name)); !r) return r;
  return fs.fsync_dir(maildir);
}

Result<void> delete_folder(FileSystem& fs, const std::string& maildir, std::string_view name) {
  auto path = folder_path(maildir, name);
  if (!path) return path.error();
  if (!is_dir(*path)) return make_error(ErrorCode::NotFound, concat("no folder ", quoted(name, 80)));
  const std::string trash = concat(maildir, "/", kTrashPrefix, std::to_string(::getpid()), ".", name);
  if (auto r = fs.rename(*path, trash); !r) return r;
  if (auto r = fs.fsync_dir(maildir); !r) return r;
  std::error_code ec;
  std::filesystem::remove_all(trash, ec);
  if (ec) return make_error(ErrorCode::Io, concat("removing ", trash, ": ", ec.message()));
  return {};
}

Result<std::vector<std::string>> list_folders(const std::string& maildir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(maildir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return errno_error(concat("opendir ", maildir), errno);
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view entry = e->d_name;
    if (entry.size() < 2 || entry[0] != '.') continue;
    std::string_view name = entry.substr(1);
    if (!validate_folder_name(name)) continue;
    if (!is_dir(concat(maildir, "/", entry))) continue;
    out.emplace_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace volley::mailbox
