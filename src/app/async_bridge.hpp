// Bridges from coroutines on an I/O thread to work done elsewhere: a blocking
// function on a thread pool, or a spool commit completed by a spool thread.
// The coroutine resumes on its own executor either way.
#pragma once

#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <type_traits>

#include "queue/spool.hpp"

namespace volley::app {

template <class F>
asio::awaitable<std::invoke_result_t<F>> run_blocking(asio::thread_pool& pool, F fn) {
  using R = std::invoke_result_t<F>;
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [&pool, ex](auto handler, F f) mutable {
        asio::post(pool, [f = std::move(f), handler = std::move(handler), ex]() mutable {
          R result = f();
          asio::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
            std::move(handler)(std::move(result));
          });
        });
      },
      asio::use_awaitable, std::move(fn));
}

inline asio::awaitable<queue::CommitResult> async_commit(queue::Spool& spool,
                                                        std::shared_ptr<const queue::Message> message) {
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(queue::CommitResult)>(
      [&spool, ex](auto handler, std::shared_ptr<const queue::Message> m) mutable {
        // Spool::Callback is a std::function (copyable); the coroutine
        // handler is move-only, so it travels in a shared_ptr.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        spool.commit(std::move(m), [shared, ex](queue::CommitResult r) {
          asio::post(ex, [shared, r = std::move(r)]() mutable { std::move (*shared)(std::move(r)); });
        });
      },
      asio::use_awaitable, std::move(message));
}

}  // namespace volley::app
