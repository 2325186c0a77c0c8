// See check_spf.hpp. Each question becomes one Resolver call; the coroutine
// waits on a timer that expires at the check's deadline and is cancelled by
// the answer, so a resolver that never calls back cannot stall the session.
#include "spf/check_spf.hpp"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <memory>
#include <optional>

namespace volley::spf {
namespace {

using delivery::DnsStatus;

// One question in flight. Shared with the resolver's callback, which may
// run after the check gave up on it.
struct Pending {
  explicit Pending(const asio::any_io_executor& ex) : wake(ex) {}
  asio::steady_timer wake;
  std::optional<DnsReply> reply;
  void deliver(DnsReply r) {
    reply = std::move(r);
    wake.cancel();
  }
};

void ask(delivery::Resolver& resolver, const DnsQuestion& q, const std::shared_ptr<Pending>& p) {
  switch (q.type) {
    case DnsType::Txt:
      resolver.query_txt(q.name, [p](delivery::TxtAnswer a) { p->deliver(reply_from(a)); });
      break;
    case DnsType::Mx:
      resolver.query_mx(q.name, [p](delivery::MxAnswer a) { p->deliver(reply_from(a)); });
      break;
    case DnsType::Ptr:
      resolver.query_ptr(q.name, [p](delivery::PtrAnswer a) { p->deliver(reply_from(a)); });
      break;
    case DnsType::A:
    case DnsType::Aaaa: {
      // exists asks A whatever the client's family; a and mx ask its own.
      const bool want_v4 = q.type == DnsType::A;
      resolver.query_addresses(q.name, [p, want_v4](delivery::AddressAnswer a) { p->deliver(reply_from(a, want_v4)); });
      break;
    }
  }
}

}  // namespace

DnsReply reply_from(const delivery::MxAnswer& a) {
  DnsReply r{a.status, {}};
  std::vector<delivery::MxRecord> sorted = a.records;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& x, const auto& y) { return x.preference < y.preference; });
  for (const auto& mx : sorted) r.records.push_back(mx.host);
  return r;
}

DnsReply reply_from(const delivery::AddressAnswer& a, bool want_v4) {
  DnsReply r{a.status, {}};
  for (const auto& ip : a.addresses)
    if (ip.is_v4() == want_v4) r.records.push_back(ip.to_string());
  // Addresses of the other family only: this family's own outcome (no
  // data, or a temporary failure that must stay one).
  if (r.records.empty() && a.status == DnsStatus::Ok) r.status = want_v4 ? a.v4_status : a.v6_status;
  if (r.records.empty() && r.status == DnsStatus::Ok) r.status = DnsStatus::NoRecords;
  return r;
}

DnsReply reply_from(const delivery::TxtAnswer& a) { return {a.status, a.records}; }
DnsReply reply_from(const delivery::PtrAnswer& a) { return {a.status, a.names}; }

asio::awaitable<SpfResult> check_spf(delivery::Resolver& resolver, SpfInputs inputs,
                                     std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto executor = co_await asio::this_coro::executor;
  SpfEvaluator evaluator(std::move(inputs));
  while (true) {
    auto step = evaluator.next();
    if (auto* result = std::get_if<SpfResult>(&step)) co_return std::move(*result);
    const DnsQuestion question = std::get<DnsQuestion>(step);
    auto pending = std::make_shared<Pending>(executor);
    pending->wake.expires_at(deadline);
    ask(resolver, question, pending);
    if (!pending->reply) {
      std::error_code ec;  // operation_aborted: the answer came
      co_await pending->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!pending->reply) {
      SpfResult r;
      r.verdict = SpfVerdict::TempError;
      r.domain = evaluator.domain();
      r.reason = "SPF check timed out (" + std::to_string(timeout.count()) + " ms) waiting for " +
                 dns_type_name(question.type) + " " + question.name;
      co_return r;
    }
    evaluator.answer(question, std::move(*pending->reply));
  }
}

}  // namespace volley::spf
