// The DSN made from a round's outcomes (dsn_notice): one code path for every
// route. Regression tests for issue 9 defect 1a: a smarthost given by address
// lost Remote-MTA and Diagnostic-Code, and expiry after 451 4.3.0 reported
// Status 5.0.0.
#include <gtest/gtest.h>

#include "delivery/dsn_notice.hpp"
#include "delivery/round.hpp"
#include "delivery/smtp_client.hpp"

namespace volley::delivery {
namespace {
using namespace std::chrono_literals;

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

queue::Envelope envelope() {
  queue::Envelope e;
  e.id = "00000000000000000007";
  e.sender = "alice@local.test";
  e.received_at = 1'700'000'000;
  queue::Recipient r;
  r.address = "bob@example.net";
  e.recipients.push_back(r);
  return e;
}

const std::string kContent = "Subject: hi\r\n\r\nbody\r\n";

struct RouteCase {
  const char* route;
  Endpoint endpoint;
  const char* remote_mta;
};

std::vector<RouteCase> routes() {
  return {
      {"mx", Endpoint{"mx1.example.net", asio::ip::make_address("127.0.0.2"), 25}, "mx1.example.net"},
      {"smarthost by address", Endpoint{"", asio::ip::make_address("127.0.0.4"), 2525}, "127.0.0.4"},
      {"smarthost by name", Endpoint{"relay.example.test", asio::ip::make_address("127.0.0.4"), 2525},
       "relay.example.test"},
      {"address literal v6", Endpoint{"", asio::ip::make_address("::1"), 25}, "::1"},
  };
}

RcptOutcome from_server(const Endpoint& ep, int code, const char* enhanced, const char* text) {
  return reply_outcome(code, enhanced, text, ep.mta_name() + ":25", ep.mta_name(), "none");
}

std::string status_part(const std::shared_ptr<queue::Message>& m) {
  const auto at = m->content.find("Content-Type: message/delivery-status");
  return at == std::string::npos ? std::string() : m->content.substr(at, 1200);
}

TEST(Defect1aDsnRoutes, RcptRefusalGivesRemoteMtaAndDiagnosticCodeOnEveryRoute) {
  for (const auto& c : routes()) {
    auto env = envelope();
    std::vector<std::optional<RcptOutcome>> outs{
        from_server(c.endpoint, 550, "5.1.1", "550 5.1.1 <bob@example.net>: no such user")};
    auto dsn = make_dsn_message(env, kContent, outs, {0}, false, DsnNotice{"mx.test.local", "DSN1", 1'700'000'100});
    const std::string status = status_part(dsn);
    EXPECT_TRUE(contains(status, "Action: failed\r\nStatus: 5.1.1\r\n")) << c.route << status;
    EXPECT_TRUE(contains(status, std::string("Remote-MTA: dns; ") + c.remote_mta + "\r\n")) << c.route << status;
    EXPECT_TRUE(contains(status, "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: no such user\r\n"))
        << c.route << status;
    EXPECT_EQ(dsn->envelope.sender, "");
    ASSERT_EQ(dsn->envelope.recipients.size(), 1u);
    EXPECT_EQ(dsn->envelope.recipients[0].address, "alice@local.test");
  }
}

TEST(Defect1aDsnRoutes, ExpiryAfter451ReportsTheLastTransientStatusOnEveryRoute) {
  RoundPolicy policy;
  policy.retry_schedule = {1s};
  policy.max_age = 3s;
  for (const auto& c : routes()) {
    auto env = envelope();
    std::vector<std::optional<RcptOutcome>> outs{
        from_server(c.endpoint, 451, "4.3.0", "451 4.3.0 Temporary failure, try again later")};
    auto round = apply_round(env, outs, (env.received_at + 4) * 1000, policy);
    ASSERT_EQ(round.failed, std::vector<size_t>{0}) << c.route;
    auto dsn = make_dsn_message(env, kContent, outs, round.failed, false,
                                DsnNotice{"mx.test.local", "DSN2", env.received_at + 4});
    const std::string status = status_part(dsn);
    EXPECT_TRUE(contains(status, "Action: failed\r\nStatus: 4.3.0\r\n")) << c.route << status;
    EXPECT_FALSE(contains(status, "5.0.0")) << c.route;
    EXPECT_TRUE(contains(status, std::string("Remote-MTA: dns; ") + c.remote_mta + "\r\n")) << c.route;
    EXPECT_TRUE(contains(status, "Diagnostic-Code: smtp; 451 4.3.0 Temporary failure, try again later\r\n"))
        << c.route << status;
    EXPECT_TRUE(contains(dsn->content, "message expired after 4 seconds in the queue")) << c.route;
  }
}

TEST(Defect1aDsnRoutes, ExpiryWithoutATransientStatusIs447) {
  RoundPolicy policy;
  policy.max_age = 3s;
  auto env = envelope();
  RcptOutcome never_answered = local_outcome(Status::Deferred, "", "no reply", "");
  std::vector<std::optional<RcptOutcome>> outs{never_answered};
  (void)apply_round(env, outs, (env.received_at + 10) * 1000, policy);
  EXPECT_EQ(outs[0]->enhanced, "4.4.7");
  const auto d = dsn_recipient_for(env.recipients[0], *outs[0], false, env.received_at + 10);
  EXPECT_EQ(d.status, "4.4.7");
  EXPECT_TRUE(d.diagnostic.empty()) << "no server reply, no Diagnostic-Code";
}

TEST(Defect1aDsnRoutes, LocalReasonsStayOutOfDiagnosticCode) {
  auto env = envelope();
  const RcptOutcome dns = local_outcome(Status::Bounced, "5.1.2", "Host or domain name not found: example.net", "");
  const auto d = dsn_recipient_for(env.recipients[0], dns, false, 1);
  EXPECT_EQ(d.status, "5.1.2");
  EXPECT_TRUE(d.diagnostic.empty());
  EXPECT_EQ(d.reason, "Host or domain name not found: example.net");
  EXPECT_TRUE(d.remote_mta.empty());
  // A server's words that reached us only as part of a local reason (a
  // refused greeting) are not a reply to this recipient either.
  RcptOutcome greeting = local_outcome(Status::Deferred, "4.4.0", "host x refused to talk to us: 554 go away", "x");
  greeting.remote_mta = "x";
  EXPECT_TRUE(dsn_recipient_for(env.recipients[0], greeting, false, 1).diagnostic.empty());
}

TEST(Defect1aDsnRoutes, SuccessNoticeSaysRelayedForRemoteAndDeliveredForLocal) {
  auto env = envelope();
  const Endpoint ep{"", asio::ip::make_address("127.0.0.4"), 25};
  auto remote = dsn_recipient_for(env.recipients[0], from_server(ep, 250, "", "250 ok"), true, 1);
  EXPECT_EQ(remote.action, DsnAction::Relayed);
  EXPECT_EQ(remote.status, "2.0.0");
  auto local = dsn_recipient_for(env.recipients[0], local_outcome(Status::Sent, "2.0.0", "delivered", "local"), true, 1);
  EXPECT_EQ(local.action, DsnAction::Delivered);
}

}  // namespace
}  // namespace volley::delivery
