// Where the router gets a domain's MTA-STS policy (RFC 8461 5.1): the
// _mta-sts TXT record through the Resolver (delivery.resolver), the cached
// policy while its id matches and it has not expired, else a fresh HTTPS
// fetch of the policy (mta_sts::fetch_policy, blocking, on its own small
// thread pool so a slow policy server never holds up Maildir writes or the
// I/O thread), stored in the persistent cache for max_age. Concurrent
// requests for the same domain share one fetch.
//
// RFC 8461 5.1 and 3.3: no TXT record (or a DNS failure) -> the cached
// policy while unexpired; a fetch that fails -> the cached policy, else no
// policy (and the failure is logged).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "delivery/resolver.hpp"
#include "mta_sts/cache.hpp"
#include "mta_sts/policy.hpp"
#include "util/clock.hpp"

namespace volley::delivery {

class MtaStsSource {
 public:
  using Done = std::function<void(std::optional<mta_sts::Policy>)>;

  // Runs on `io`'s thread (the resolver's); `cache` persists policies.
  MtaStsSource(Resolver& resolver, const Clock& clock, asio::any_io_executor io,
               std::unique_ptr<mta_sts::PolicyCache> cache);
  ~MtaStsSource();

  // The policy in force for `domain` (nullopt: none). `done` runs later on
  // the io thread.
  void policy(const std::string& domain, const config::DeliverySection& del, Done done);

 private:
  void on_txt(const std::string& domain, const config::DeliverySection& del, TxtAnswer txt, Done done);
  void fetch(const std::string& domain, const std::string& id, const config::DeliverySection& del);
  void finish_fetch(const std::string& domain, const std::string& id, Result<std::string> body);
  std::optional<mta_sts::Policy> cached(const std::string& domain) const;

  Resolver& resolver_;
  const Clock& clock_;
  asio::any_io_executor io_;
  std::unique_ptr<mta_sts::PolicyCache> cache_;
  std::atomic<bool> stopping_{false};  // aborts fetches under way at destruction
  asio::thread_pool fetch_pool_;
  std::unordered_map<std::string, std::vector<Done>> fetching_;  // domain -> waiters of the fetch under way
};

}  // namespace volley::delivery
