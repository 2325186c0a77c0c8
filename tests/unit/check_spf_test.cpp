// check_spf(): the evaluator driven over a Resolver on an io_context, with a
// table for DNS (the Router's TableResolver pattern): answers become the
// evaluator's replies, temporary failures and a resolver that never answers
// end in temperror within the time bound.
#include "spf/check_spf.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <map>
#include <optional>
#include <set>

namespace volley::spf {
namespace {

using namespace std::chrono_literals;
using delivery::AddressAnswer;
using delivery::DnsStatus;
using delivery::MxAnswer;
using delivery::PtrAnswer;
using delivery::TxtAnswer;

class TableResolver final : public delivery::Resolver {
 public:
  explicit TableResolver(asio::io_context& io) : io_(io) {}
  std::map<std::string, MxAnswer> mx;
  std::map<std::string, AddressAnswer> addresses;
  std::map<std::string, TxtAnswer> txt;
  std::map<std::string, PtrAnswer> ptr;
  std::set<std::string> silent;    // never answered (callbacks kept, as if in flight)
  std::vector<std::string> asked;  // "TXT name", in order

  void query_mx(const std::string& name, std::function<void(MxAnswer)> done) override {
    answer("MX", name, mx, std::move(done));
  }
  void query_addresses(const std::string& name, std::function<void(AddressAnswer)> done) override {
    answer("A", name, addresses, std::move(done));
  }
  void query_txt(const std::string& name, std::function<void(TxtAnswer)> done) override {
    answer("TXT", name, txt, std::move(done));
  }
  void query_ptr(const std::string& name, std::function<void(PtrAnswer)> done) override {
    answer("PTR", name, ptr, std::move(done));
  }
  // SPF asks no TLSA; answered NXDOMAIN so that the interface is complete.
  void query_tlsa(const std::string& name, std::function<void(delivery::TlsaAnswer)> done) override {
    answer("TLSA", name, std::map<std::string, delivery::TlsaAnswer>{}, std::move(done));
  }

 private:
  template <class Answer>
  void answer(const char* type, const std::string& name, const std::map<std::string, Answer>& table,
              std::function<void(Answer)> done) {
    asked.push_back(std::string(type) + " " + name);
    if (silent.count(name)) {
      held_.push_back(std::make_shared<std::function<void(Answer)>>(std::move(done)));
      return;
    }
    Answer a;
    if (auto it = table.find(name); it != table.end()) a = it->second;
    else a.status = DnsStatus::NxDomain;
    asio::post(io_, [done = std::move(done), a] { done(a); });
  }

  asio::io_context& io_;
  std::vector<std::shared_ptr<void>> held_;
};

AddressAnswer ips(std::vector<std::string> list) {
  AddressAnswer a;
  a.status = DnsStatus::Ok;
  for (auto& s : list) a.addresses.push_back(asio::ip::make_address(s));
  return a;
}
TxtAnswer txt(std::vector<std::string> records) { return {DnsStatus::Ok, std::move(records), ""}; }

struct CheckSpfTest : ::testing::Test {
  asio::io_context io;
  TableResolver dns{io};

  SpfResult check(const char* client, const std::string& mail_from, std::chrono::milliseconds timeout = 5s) {
    std::optional<SpfResult> out;
    SpfInputs in{*net::IpAddress::parse(client), "helo.example", mail_from, "mx.receiver.example"};
    asio::co_spawn(io, check_spf(dns, in, timeout), [&](std::exception_ptr e, SpfResult r) {
      if (e) std::rethrow_exception(e);
      out = std::move(r);
    });
    io.restart();
    io.run_for(10s);
    EXPECT_TRUE(out.has_value());
    return out.value_or(SpfResult{});
  }
};

TEST_F(CheckSpfTest, PassThroughIncludeAndMx) {
  dns.txt["example.com"] = txt({"google-site-verification=x", "v=spf1 include:_spf.example.net -all"});
  dns.txt["_spf.example.net"] = txt({"v=spf1 mx:example.net ~all"});
  dns.mx["example.net"] = {DnsStatus::Ok, {{20, "mx2.example.net"}, {10, "mx1.example.net"}}, ""};
  dns.addresses["mx1.example.net"] = ips({"192.0.2.1", "2001:db8::1"});
  dns.addresses["mx2.example.net"] = ips({"192.0.2.2"});
  const SpfResult r = check("192.0.2.2", "user@example.com");
  EXPECT_EQ(r.verdict, SpfVerdict::Pass) << r.reason;
  EXPECT_EQ(r.mechanism, "include:_spf.example.net");
  EXPECT_EQ(r.domain, "example.com");
  // MX hosts are tried in preference order.
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"TXT example.com", "TXT _spf.example.net", "MX example.net",
                                                 "A mx1.example.net", "A mx2.example.net"}));
}

TEST_F(CheckSpfTest, AddressesOfTheOtherFamilyDoNotMatch) {
  dns.txt["example.com"] = txt({"v=spf1 a:v6.example.com/0//0 -all"});
  dns.addresses["v6.example.com"] = ips({"2001:db8::1"});
  EXPECT_EQ(check("192.0.2.9", "user@example.com").verdict, SpfVerdict::Fail);
  EXPECT_EQ(check("2001:db8::99", "user@example.com").verdict, SpfVerdict::Pass);
}

TEST_F(CheckSpfTest, TemporaryDnsFailureIsTemperrorNeverPass) {
  dns.txt["example.com"] = txt({"v=spf1 a:down.example.com +all"});
  dns.addresses["down.example.com"] = {DnsStatus::TempFail, {}, "SERVFAIL"};
  EXPECT_EQ(check("192.0.2.9", "user@example.com").verdict, SpfVerdict::TempError);
  dns.txt["temp.example"] = {DnsStatus::TempFail, {}, "timed out"};
  EXPECT_EQ(check("192.0.2.9", "user@temp.example").verdict, SpfVerdict::TempError);
}

TEST_F(CheckSpfTest, ResolverThatNeverAnswersEndsInTemperrorWithinTheBound) {
  dns.txt["example.com"] = txt({"v=spf1 include:slow.example.net -all"});
  dns.silent.insert("slow.example.net");
  const auto start = std::chrono::steady_clock::now();
  const SpfResult r = check("192.0.2.9", "user@example.com", 200ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.verdict, SpfVerdict::TempError);
  EXPECT_NE(r.reason.find("timed out"), std::string::npos) << r.reason;
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 2s);
}

TEST_F(CheckSpfTest, PtrAndEmptyMailFrom) {
  dns.txt["helo.example"] = txt({"v=spf1 ptr:helo.example -all"});
  dns.ptr["9.2.0.192.in-addr.arpa"] = {DnsStatus::Ok, {"host.helo.example"}, ""};
  dns.addresses["host.helo.example"] = ips({"192.0.2.9"});
  const SpfResult r = check("192.0.2.9", "");
  EXPECT_EQ(r.verdict, SpfVerdict::Pass) << r.reason;
  EXPECT_EQ(r.domain, "helo.example");
}

TEST(CheckSpfReplies, FromResolverAnswers) {
  const DnsReply mx = reply_from(MxAnswer{DnsStatus::Ok, {{30, "c"}, {10, "a"}, {20, "b"}, {10, "a2"}}, ""});
  EXPECT_EQ(mx.records, (std::vector<std::string>{"a", "a2", "b", "c"}));
  const DnsReply v4only = reply_from(ips({"2001:db8::1"}), true);
  EXPECT_EQ(v4only.status, DnsStatus::NoRecords);
  const DnsReply both = reply_from(ips({"192.0.2.1", "2001:db8::1"}), false);
  EXPECT_EQ(both.records, (std::vector<std::string>{"2001:db8::1"}));
  EXPECT_EQ(reply_from(AddressAnswer{DnsStatus::NxDomain, {}, ""}, true).status, DnsStatus::NxDomain);
  // The asked family timed out while the other answered: still a temporary failure.
  AddressAnswer half = ips({"2001:db8::1"});
  half.v4_status = DnsStatus::TempFail;
  EXPECT_EQ(reply_from(half, true).status, DnsStatus::TempFail);
  EXPECT_EQ(reply_from(half, false).status, DnsStatus::Ok);
}

}  // namespace
}  // namespace volley::spf
