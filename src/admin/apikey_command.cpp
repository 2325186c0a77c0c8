#include "admin/apikey_command.hpp"

#include <sys/stat.h>

#include <ctime>
#include <memory>
#include <ostream>

#include "auth/api_key_store.hpp"
#include "util/strings.hpp"

namespace volley::admin {
namespace {

int fail(std::ostream& err, const std::string& action, const std::string& reason) {
  err << "volley: apikey " << action << ": " << reason << "\n";
  return 1;
}

std::string iso_time(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

int run_apikey_command(const ApiKeyOptions& o, const std::string& data_dir, std::ostream& out, std::ostream& err) {
  const std::string& action = o.action;
  if (action != "create" && action != "list" && action != "revoke")
    return fail(err, action, "unknown action (expected create, list or revoke)");
  if (action != "list") {
    if (o.name.empty()) return fail(err, action, "missing --name");
    if (!auth::valid_api_key_name(o.name))
      return fail(err, action, concat("bad --name ", quoted(o.name, 70), ": use 1..64 letters, digits, '-', '_' or '.'"));
  }
  if (action == "create" && !auth::valid_api_key_scope(o.scope))
    return fail(err, action, concat("bad --scope ", quoted(o.scope, 20), ": use send, read or admin"));

  // Only create makes the database: a mistyped data_dir given to list or
  // revoke must not leave an empty one behind.
  const std::string path = auth::api_key_db_path(data_dir);
  if (action != "create" && !file_exists(path)) {
    if (action == "list") return 0;
    return fail(err, action, concat("no key named ", o.name));
  }
  auto opened = auth::ApiKeyStore::open(path);
  if (!opened) return fail(err, action, opened.error().message);
  auth::ApiKeyStore& store = *opened.value();

  if (action == "create") {
    auto key = store.create(o.name, o.scope);
    if (!key) return fail(err, action, key.error().message);
    out << *key << "\n";
    err << "volley: apikey create: key " << o.name << " (scope " << o.scope
        << ") created; it is shown only this once, store it now\n";
    return 0;
  }
  if (action == "revoke") {
    if (auto r = store.revoke(o.name); !r) return fail(err, action, r.error().message);
    return 0;
  }
  auto keys = store.list();
  if (!keys) return fail(err, action, keys.error().message);
  for (const auto& k : keys.value()) {
    out << k.name << " scope=" << k.scope << " created=" << iso_time(k.created_at);
    if (k.revoked_at != 0) {
      out << " revoked=" << iso_time(k.revoked_at) << "\n";
    } else {
      out << " active\n";
    }
  }
  return 0;
}

}  // namespace volley::admin
