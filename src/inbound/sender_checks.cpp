#include "inbound/sender_checks.hpp"

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <future>

#include "delivery/dns_resolver.hpp"
#include "dkim/signature.hpp"
#include "inbound/authentication_results.hpp"
#include "inbound/dkim_body_hashes.hpp"
#include "inbound/sender_auth.hpp"
#include "util/log.hpp"

namespace volley::inbound {
namespace {

class CheckJob final : public smtp::SenderChecks::Job {
 public:
  CheckJob(std::string header_block, smtp::SenderChecks::Context context, bool dkim)
      : header_block_(std::move(header_block)),
        context_(std::move(context)),
        hashes_(dkim ? dkim::find_signatures(header_block_) : std::vector<dkim::FoundSignature>{}) {}
  void body(std::string_view bytes) override { hashes_.feed(bytes); }

  std::string header_block_;  // as received: DKIM signed these bytes
  smtp::SenderChecks::Context context_;
  DkimBodyHashes hashes_;
};

smtp::SenderVerdict verdict_of(const SenderAuthOutcome& out) {
  smtp::SenderVerdict v;
  v.header = out.authentication_results;
  switch (out.decision.verdict) {
    case Verdict::Accept: v.kind = smtp::SenderVerdict::Kind::Accept; break;
    case Verdict::Quarantine: v.kind = smtp::SenderVerdict::Kind::Quarantine; break;
    case Verdict::Reject:
    case Verdict::TempFail:
      v.kind = smtp::SenderVerdict::Kind::Refuse;
      if (out.decision.reply) v.refusal = *out.decision.reply;
      break;
  }
  return v;
}

}  // namespace

SenderCheckThread::SenderCheckThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}

SenderCheckThread::~SenderCheckThread() {
  work_.reset();
  io_.stop();
  thread_.join();
}

Result<std::shared_ptr<delivery::Resolver>> SenderCheckThread::make_resolver(const std::string& server,
                                                                            std::chrono::milliseconds timeout) {
  // Made and destroyed on the thread whose io_context its sockets use.
  std::promise<Result<std::unique_ptr<delivery::DnsResolver>>> made;
  asio::post(io_, [&] { made.set_value(delivery::DnsResolver::create(io_, server, timeout)); });
  auto r = made.get_future().get();
  if (!r) return r.error();
  asio::io_context* io = &io_;
  return std::shared_ptr<delivery::Resolver>(r.value().release(), [io](delivery::Resolver* p) {
    asio::post(*io, [p] { delete p; });  // cancels what is in flight, on its thread
  });
}

Result<std::unique_ptr<SenderAuthChecks>> SenderAuthChecks::create(const config::Config& cfg,
                                                                   SenderCheckThread& thread) {
  const config::InboundSection& in = cfg.inbound;
  if (!in.spf && !in.dkim_verify && in.dmarc == config::DmarcMode::Off) return std::unique_ptr<SenderAuthChecks>();
  // The organisational domain (DMARC) needs the Public Suffix List.
  auto psl = dmarc::PublicSuffixList::load();
  if (!psl) return make_error("[inbound] checks: " + psl.error().message);
  auto resolver = thread.make_resolver(cfg.delivery.resolver, cfg.delivery.dns_timeout);
  if (!resolver) return make_error("inbound checks: " + resolver.error().message);
  return std::make_unique<SenderAuthChecks>(in, cfg.server.hostname, thread, std::move(resolver.value()),
                                            std::move(psl.value()));
}

std::unique_ptr<smtp::SenderChecks::Job> SenderAuthChecks::begin(std::string& header_block, Context context) const {
  std::string original = header_block;
  size_t removed = 0;
  header_block = remove_authentication_results(original, authserv_id_, &removed);
  if (removed > 0)
    log::info("smtp.forged_authentication_results").kv("client", context.client_ip).kv("removed", uint64_t{removed});
  return std::make_unique<CheckJob>(std::move(original), std::move(context), cfg_.dkim_verify);
}

asio::awaitable<smtp::SenderVerdict> SenderAuthChecks::run(std::unique_ptr<Job> job) const {
  std::shared_ptr<CheckJob> j(static_cast<CheckJob*>(job.release()));
  j->hashes_.finish();
  SenderAuthInput input;
  input.client = net::IpAddress::parse(j->context_.client_ip).value_or(net::IpAddress{});
  input.helo = j->context_.helo;
  input.mail_from = j->context_.mail_from;
  input.authserv_id = authserv_id_;
  input.header_block = j->header_block_;
  input.body_hashes = &j->hashes_;
  // The lookups run on the checks' thread; the job, the resolver and the
  // list stay alive with the coroutine that uses them.
  auto task = [](std::shared_ptr<CheckJob> keep, std::shared_ptr<delivery::Resolver> resolver,
                 std::shared_ptr<const dmarc::PublicSuffixList> psl, config::InboundSection cfg,
                 SenderAuthInput in) -> asio::awaitable<SenderAuthOutcome> {
    co_return co_await check_sender_auth(*resolver, cfg, *psl, in, system_clock());
  };
  auto pending = asio::co_spawn(thread_.io(), task(j, resolver_, psl_, cfg_, input), asio::use_awaitable);
  SenderAuthOutcome out = co_await std::move(pending);
  log::info("smtp.sender_auth")
      .kv("client", j->context_.client_ip)
      .kv("from", j->context_.mail_from)
      .kv("result", out.log_summary)
      .kv("reason", out.decision.reason);
  co_return verdict_of(out);
}

}  // namespace volley::inbound
