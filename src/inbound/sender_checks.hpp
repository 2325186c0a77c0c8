// The intake's sender checks (issue 10, point 2): smtp::SenderChecks backed
// by check_sender_auth (SPF, DKIM, DMARC). The lookups run on a thread of
// their own with their own c-ares channel (a Resolver is not thread-safe and
// the I/O threads must never wait on DNS); the connection's coroutine awaits
// the outcome and resumes on its own thread.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "delivery/resolver.hpp"
#include "dmarc/public_suffix.hpp"
#include "smtp/session.hpp"
#include "util/result.hpp"

namespace volley::inbound {

// The thread the checks' lookups run on (one per daemon).
class SenderCheckThread {
 public:
  SenderCheckThread();
  ~SenderCheckThread();
  asio::io_context& io() { return io_; }
  // A resolver living on this thread (destroyed there once nobody holds it).
  Result<std::shared_ptr<delivery::Resolver>> make_resolver(const std::string& server,
                                                            std::chrono::milliseconds timeout);

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

class SenderAuthChecks final : public smtp::SenderChecks {
 public:
  SenderAuthChecks(config::InboundSection cfg, std::string authserv_id, SenderCheckThread& thread,
                   std::shared_ptr<delivery::Resolver> resolver, std::shared_ptr<const dmarc::PublicSuffixList> psl)
      : cfg_(cfg), authserv_id_(std::move(authserv_id)), thread_(thread), resolver_(std::move(resolver)),
        psl_(std::move(psl)) {}

  // null unless one of [inbound] spf / dkim_verify / dmarc is on.
  static Result<std::unique_ptr<SenderAuthChecks>> create(const config::Config& cfg, SenderCheckThread& thread);

  std::unique_ptr<Job> begin(std::string& header_block, Context context) const override;
  // Runs the checks of a job begin() made; the verdict for the session.
  asio::awaitable<smtp::SenderVerdict> run(std::unique_ptr<Job> job) const;

 private:
  config::InboundSection cfg_;
  std::string authserv_id_;
  SenderCheckThread& thread_;
  std::shared_ptr<delivery::Resolver> resolver_;
  std::shared_ptr<const dmarc::PublicSuffixList> psl_;
};

}  // namespace volley::inbound
