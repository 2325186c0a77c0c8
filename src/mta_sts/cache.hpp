// The MTA-STS policy cache (RFC 8461 5.1): the last valid policy of each
// domain, kept until its max_age passes and persisted under
// data_dir/mta-sts/ so a restart does not forget a policy (which would open
// the window for a downgrade attack that the cache exists to close).
//
// One file per domain, written atomically (temporary file, fsync, rename,
// directory fsync) through volley::FileSystem. Files that do not parse are
// ignored at load (and replaced at the next fetch). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "mta_sts/policy.hpp"
#include "util/file_system.hpp"
#include "util/result.hpp"

namespace volley::mta_sts {

struct CachedPolicy {
  Policy policy;
  std::string id;          // the TXT record's id when fetched
  int64_t fetched_at = 0;  // unix seconds
  int64_t expires_at = 0;  // fetched_at + max_age
};

class PolicyCache {
 public:
  // Reads every cached policy in `dir` (created 0700 when missing).
  static Result<std::unique_ptr<PolicyCache>> open(const std::string& dir, FileSystem& fs = posix_file_system());

  // The domain's policy when cached and not expired at `now` (unix seconds).
  std::optional<CachedPolicy> get(const std::string& domain, int64_t now) const;
  // Stores (and persists) a freshly fetched policy. Refused for a domain
  // that is not a plain DNS name (it names a file) or beyond
  // limits::kMaxCachedPolicies.
  Result<void> put(const std::string& domain, const CachedPolicy& p);
  size_t size() const;

  // The file format, exposed for tests: "id: ...\r\nfetched_at: N\r\n
  // expires_at: N\r\n\r\n" followed by policy_text().
  static std::string serialize(const CachedPolicy& p);
  static Result<CachedPolicy> deserialize(std::string_view text);

 private:
  PolicyCache(std::string dir, FileSystem& fs) : dir_(std::move(dir)), fs_(fs) {}
  std::string dir_;
  FileSystem& fs_;
  mutable std::mutex mu_;
  std::map<std::string, CachedPolicy> policies_;
};

}  // namespace volley::mta_sts
