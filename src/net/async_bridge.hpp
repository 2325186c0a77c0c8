// Bridges from coroutines on an I/O thread to work done elsewhere: a blocking
// function on a thread pool, or a spool commit completed by a spool thread.
// The awaiting coroutine resumes on `ex` (its own executor) either way.
//
// These are plain functions returning the awaitable made by async_initiate.
// Callers build the callable as a named local before co_await: GCC 12
// relocates temporaries of a co_await full-expression into the frame
// bytewise, which breaks objects holding an SSO std::string.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <type_traits>

#include "queue/spool.hpp"

namespace volley::net {

template <class F>
auto run_blocking(asio::thread_pool& pool, asio::any_io_executor ex, F fn) {
  using R = std::invoke_result_t<F>;
  auto shared_fn = std::make_shared<F>(std::move(fn));
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(R)>(
      [&pool, ex, shared_fn](auto handler) {
        asio::post(pool, [shared_fn, ex, handler = std::move(handler)]() mutable {
          R result = (*shared_fn)();
          asio::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
            std::move(handler)(std::move(result));
          });
        });
      },
      asio::use_awaitable);
}

// Awaits a spool operation that answers through a Spool::Callback on another
// thread: `start(callback)` begins it.
template <class Start>
auto async_spool_call(asio::any_io_executor ex, Start start) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<void>)>(
      [ex, start = std::move(start)](auto handler) mutable {
        // Spool::Callback is a std::function (copyable); the coroutine
        // handler is move-only, so it travels in a shared_ptr.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start([shared, ex](Result<void> r) {
          asio::post(ex, [shared, r = std::move(r)]() mutable { std::move(*shared)(std::move(r)); });
        });
      },
      asio::use_awaitable);
}

inline auto async_commit(queue::Spool& spool, asio::any_io_executor ex, std::shared_ptr<const queue::Message> message) {
  return async_spool_call(ex, [&spool, message](queue::Spool::Callback done) { spool.commit(message, std::move(done)); });
}

}  // namespace volley::net
