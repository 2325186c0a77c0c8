#include "auth/sqlite_file.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace volley::auth {
namespace {

// Creates each missing component of `dir` with mode 0700: the directory holds
// password hashes and, later, mail, so nobody else needs to list it.
Result<void> make_private_dirs(const std::filesystem::path& dir) {
  if (dir.empty()) return {};
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) == 0 || errno == EEXIST) continue;
    return make_error("cannot create directory " + partial.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return make_error(dir.string() + " is not a directory");
  return {};
}

// Creates the file with mode 0600 before SQLite opens it (SQLite would use
// 0644 and leave a window where it is world-readable) and tightens the mode of
// an existing one. O_NOFOLLOW: a planted symlink must not redirect us.
// SQLite gives its -wal and -shm files the same mode as the database.
Result<void> create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return make_error("cannot open " + path + ": " + std::strerror(errno));
  int rc = ::fchmod(fd, 0600);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return make_error("cannot chmod " + path + ": " + std::strerror(saved));
  return {};
}

Result<void> init_connection(sqlite3* db, const char* schema, std::string_view label) {
  sqlite3_extended_result_codes(db, 1);
  // Another process (the CLI, the server) may hold the write lock briefly.
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers never block the writer and vice versa.
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK)
    return db_error(db, label, "enabling WAL");
  if (sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK) return db_error(db, label, "creating schema");
  return {};
}

}  // namespace

Error db_error(sqlite3* db, std::string_view label, std::string_view what) {
  std::string m(label);
  m += ": ";
  m += what;
  m += ": ";
  m += sqlite3_errmsg(db);
  return make_error(ErrorCode::Io, m);
}

Result<sqlite3*> open_private_database(const std::string& path, const char* schema, std::string_view label) {
  if (auto r = make_private_dirs(std::filesystem::path(path).parent_path()); !r) return r.error();
  if (auto r = create_private_file(path); !r) return r.error();

  sqlite3* db = nullptr;
  // Not SQLITE_OPEN_NOFOLLOW: it refuses a symlink anywhere in the path, and
  // a data_dir symlinked to another volume is a normal setup. The file itself
  // was already checked by create_private_file.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string msg = "cannot open ";
    msg += label;
    msg += " " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    return make_error(msg);
  }
  if (auto r = init_connection(db, schema, label); !r) {
    Error e{r.error().message + " (" + path + ")"};
    sqlite3_close_v2(db);
    return e;
  }
  return db;
}

Result<uint64_t> read_data_version(sqlite3* db, std::string_view label) {
  Statement st(db, "PRAGMA data_version");
  if (!st.ok()) return db_error(db, label, "preparing data_version");
  if (st.step() != SQLITE_ROW) return db_error(db, label, "reading data_version");
  return static_cast<uint64_t>(st.column_int64(0));
}

}  // namespace volley::auth
