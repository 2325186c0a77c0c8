#include "inbound/login_check.hpp"

#include "net/asio_compat.hpp"
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "net/async_bridge.hpp"

namespace volley::inbound {

asio::awaitable<Result<std::string>> check_login(std::shared_ptr<const Snapshot> snap, asio::thread_pool& pool,
                                                 asio::any_io_executor ex, auth::Credentials credentials,
                                                 std::string client_ip) {
  // Named locals, not temporaries inside the co_await expression: GCC 12
  // relocates such temporaries into the coroutine frame bytewise, which
  // corrupts objects holding std::string (seen under ASan).
  auto check = [snap, creds = std::move(credentials), ip = client_ip] { return snap->authenticator->check(creds, ip); };
  auto pending = net::run_blocking(pool, ex, std::move(check));
  Result<std::string> verdict = co_await std::move(pending);
  if (!verdict) {
    // Slow the guesser down: the delay grows with this address's failures
    // across all its connections and protocols.
    auto delay = snap->authenticator->failure_delay(verdict.error(), client_ip);
    asio::steady_timer t(ex, delay);
    if (delay.count() > 0) co_await t.async_wait(as_tuple(asio::use_awaitable));
  }
  co_return verdict;
}

}  // namespace volley::inbound
