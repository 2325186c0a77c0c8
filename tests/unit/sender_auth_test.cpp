// Inbound sender authentication (inbound/sender_auth.hpp) over a table
// Resolver: SPF, DKIM (messages signed here by our signer, keys published in
// the table), DMARC discovery and alignment, the verdict under each
// [inbound] dmarc mode, DNS trouble as temperror (never a pass), the
// Authentication-Results text, and the removal of a forged one.
#include "inbound/authentication_results.hpp"
#include "inbound/sender_auth.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <fstream>
#include <optional>
#include <sstream>

#include "dkim/body_hasher.hpp"
#include "dkim/header_fields.hpp"
#include "dkim/keygen.hpp"
#include "dkim/signer.hpp"
#include "table_resolver.hpp"
#include "util/strings.hpp"

namespace volley::inbound {
namespace {

using namespace std::chrono_literals;
using delivery::DnsStatus;
using test::txt;

const dmarc::PublicSuffixList& psl() {
  static auto list = dmarc::PublicSuffixList::load();
  return *list.value();
}

constexpr int64_t kNow = 1'700'000'000;

const std::string kMessage =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@receiver.example\r\n"
    "Subject: lunch\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <1@example.com>\r\n"
    "\r\n"
    "Shall we?\r\n";

std::shared_ptr<const dkim::SigningKey> ed25519_key() {
  static auto key = dkim::generate_key(dkim::Algorithm::Ed25519Sha256, 0).value();
  return key;
}

// An RSA key of any size, bypassing the signer's 2048-bit floor (the
// verifier's floor is what is under test).
std::shared_ptr<const dkim::SigningKey> rsa_key(int bits) {
  EVP_PKEY* raw = EVP_RSA_gen(static_cast<unsigned>(bits));
  return std::make_shared<dkim::SigningKey>(dkim::Algorithm::RsaSha256, bits,
                                            std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free));
}

// `message` with a DKIM-Signature of `key` for d=`domain` s=`selector` on top.
std::string signed_by(const dkim::SigningKey& key, const std::string& domain, const std::string& selector,
                      const std::string& message) {
  const size_t off = dkim::body_offset(message);
  dkim::BodyHasher body(dkim::Canon::Relaxed);
  body.feed(std::string_view(message).substr(off));
  return dkim::sign(key, domain, selector, std::string_view(message).substr(0, off), body.finish(), kNow).value() +
         message;
}

std::string header_block_of(const std::string& message) { return message.substr(0, dkim::body_offset(message)); }

struct SenderAuthTest : ::testing::Test {
  asio::io_context io;
  test::TableResolver dns{io};
  FakeClock clock{kNow * 1000};
  config::InboundSection cfg;
  std::string mail_from = "bounce@example.com";
  std::string helo = "mail.example.com";
  const char* client = "192.0.2.1";
  unsigned sample = 0;

  SenderAuthTest() {
    cfg.dmarc = config::DmarcMode::Enforce;
    dns.txt["example.com"] = txt({"v=spf1 ip4:192.0.2.1 -all"});
  }

  void publish(const dkim::SigningKey& key, const std::string& name) {
    dns.txt[name] = txt({dkim::key_record_text(key).value()});
  }

  // The message python3-dkim signed, its keys published.
  std::string dkimpy_fixture() {
    std::istringstream keys(slurp("dkimpy_keys.txt"));
    for (std::string line; std::getline(keys, line);) {
      const size_t sp = line.find(' ');
      dns.txt[line.substr(0, sp)] = txt({line.substr(sp + 1)});
    }
    return slurp("dkimpy_signed.eml");
  }
  static std::string slurp(const std::string& name) {
    std::ifstream in(std::string(VOLLEY_UNIT_FIXTURES) + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  SenderAuthOutcome run(const std::string& message, std::chrono::milliseconds timeout = 5s,
                        const DkimBodyHashes* hashes = nullptr) {
    std::optional<SenderAuthOutcome> out;
    const std::string block = hashes ? message : header_block_of(message);
    SenderAuthInput in{*net::IpAddress::parse(client), helo, mail_from, "mx.receiver.example", block, message,
                       hashes};
    SenderAuthOptions options;
    options.timeout = timeout;
    options.sample = [this] { return sample; };
    asio::co_spawn(io, check_sender_auth(dns, cfg, psl(), in, clock, options),
                   [&](std::exception_ptr e, SenderAuthOutcome o) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(o);
                   });
    io.restart();
    io.run_for(10s);
    EXPECT_TRUE(out.has_value());
    return out.value_or(SenderAuthOutcome{});
  }
};

TEST_F(SenderAuthTest, SpfPassAlignsDmarcAndTheHeaderSaysSo) {
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  const SenderAuthOutcome o = run(kMessage);
  EXPECT_EQ(o.decision.verdict, Verdict::Accept);
  EXPECT_FALSE(o.decision.reply.has_value());
  EXPECT_EQ(o.authentication_results,
            "Authentication-Results: mx.receiver.example;\r\n"
            "\tspf=pass (\"example.com\" matched ip4:192.0.2.1) smtp.mailfrom=bounce@example.com;\r\n"
            "\tspf=none (\"mail.example.com\" has no SPF record) smtp.helo=mail.example.com;\r\n"
            "\tdkim=none;\r\n"
            "\tdmarc=pass (p=reject dis=none) header.from=example.com\r\n");
  EXPECT_EQ(o.log_summary, "spf=pass spf_helo=none dkim=none dmarc=pass:example.com verdict=accept");
}

TEST_F(SenderAuthTest, SpfFailUnderPReject) {
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  client = "198.51.100.7";
  const SenderAuthOutcome o = run(kMessage);
  EXPECT_EQ(o.results.spf_mailfrom->result.verdict, spf::SpfVerdict::Fail);
  EXPECT_EQ(o.results.dmarc.evaluation.result, dmarc::DmarcResult::Fail);
  ASSERT_EQ(o.decision.verdict, Verdict::Reject);
  ASSERT_TRUE(o.decision.reply);
  EXPECT_EQ(o.decision.reply->code, 550);
  EXPECT_EQ(o.decision.reply->enhanced, "5.7.1");
  EXPECT_EQ(o.decision.reply->lines.at(0),
            "DMARC policy of example.com (p=reject) refuses mail from example.com that fails SPF and DKIM alignment");
  EXPECT_NE(o.authentication_results.find("\tdmarc=fail (p=reject dis=reject) reason="), std::string::npos)
      << o.authentication_results;
}

TEST_F(SenderAuthTest, SpfTemperrorUnderPRejectDefersInsteadOfRefusing) {
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  dns.txt["example.com"] = {DnsStatus::TempFail, {}, "SERVFAIL"};
  const SenderAuthOutcome o = run(kMessage);
  EXPECT_EQ(o.results.spf_mailfrom->result.verdict, spf::SpfVerdict::TempError);
  ASSERT_EQ(o.decision.verdict, Verdict::TempFail);
  EXPECT_EQ(o.decision.reply->code, 451);
  EXPECT_EQ(o.decision.reply->enhanced, "4.7.1");
  EXPECT_NE(o.decision.reply->lines.at(0).find("example.com"), std::string::npos);
}

TEST_F(SenderAuthTest, DkimPassAlignsWhenSpfFails) {
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  publish(*ed25519_key(), "sel._domainkey.example.com");
  client = "198.51.100.7";
  const SenderAuthOutcome o = run(signed_by(*ed25519_key(), "example.com", "sel", kMessage));
  ASSERT_EQ(o.results.dkim.size(), 1u);
  const DkimCheck& d = o.results.dkim[0];
  EXPECT_EQ(d.result, "pass") << d.reason;
  EXPECT_EQ(d.algorithm, "ed25519-sha256");
  EXPECT_EQ(d.b_prefix.size(), 8u);
  EXPECT_TRUE(o.results.dmarc.evaluation.dkim_aligned);
  EXPECT_EQ(o.decision.verdict, Verdict::Accept);
  EXPECT_NE(o.authentication_results.find(concat("\tdkim=pass header.d=example.com header.s=sel header.a=ed25519-sha256 "
                                                 "header.b=",
                                                 d.b_prefix, ";\r\n")),
            std::string::npos)
      << o.authentication_results;
}

TEST_F(SenderAuthTest, DkimFailsWhenTheBodyIsAltered) {
  publish(*ed25519_key(), "sel._domainkey.example.com");
  std::string m = signed_by(*ed25519_key(), "example.com", "sel", kMessage);
  m.replace(m.find("Shall we?"), 9, "Shall we!");
  const SenderAuthOutcome o = run(m);
  ASSERT_EQ(o.results.dkim.size(), 1u);
  EXPECT_EQ(o.results.dkim[0].result, "fail");
  EXPECT_EQ(o.results.dkim[0].reason, "body hash mismatch");
  EXPECT_NE(o.authentication_results.find("\tdkim=fail reason=\"body hash mismatch\" header.d=example.com"),
            std::string::npos)
      << o.authentication_results;
}

TEST_F(SenderAuthTest, Rsa1024PassesRsa512Fails) {
  auto k1024 = rsa_key(1024), k512 = rsa_key(512);
  publish(*k1024, "big._domainkey.example.com");
  publish(*k512, "small._domainkey.example.com");
  const std::string m = signed_by(*k512, "example.com", "small", signed_by(*k1024, "example.com", "big", kMessage));
  const SenderAuthOutcome o = run(m);
  ASSERT_EQ(o.results.dkim.size(), 2u);
  // Top to bottom: the 512-bit signature was added last.
  EXPECT_EQ(o.results.dkim[0].selector, "small");
  EXPECT_EQ(o.results.dkim[0].result, "fail");
  EXPECT_EQ(o.results.dkim[0].reason, "key too small (512 bits)");
  EXPECT_EQ(o.results.dkim[1].selector, "big");
  EXPECT_EQ(o.results.dkim[1].result, "pass") << o.results.dkim[1].reason;
}

TEST_F(SenderAuthTest, KeyLookupTemperrorNeverPassesAndDefersUnderPReject) {
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  dns.txt["sel._domainkey.example.com"] = {DnsStatus::TempFail, {}, "SERVFAIL"};
  client = "198.51.100.7";
  const SenderAuthOutcome o = run(signed_by(*ed25519_key(), "example.com", "sel", kMessage));
  ASSERT_EQ(o.results.dkim.size(), 1u);
  EXPECT_EQ(o.results.dkim[0].result, "temperror");
  EXPECT_EQ(o.results.dkim[0].reason, "key lookup at sel._domainkey.example.com failed: SERVFAIL");
  EXPECT_EQ(o.results.dmarc.evaluation.result, dmarc::DmarcResult::Fail);
  EXPECT_EQ(o.decision.verdict, Verdict::TempFail);
}

TEST_F(SenderAuthTest, MissingOrBadKeyRecordIsPermerror) {
  client = "198.51.100.7";
  const std::string m = signed_by(*ed25519_key(), "example.com", "sel", kMessage);
  EXPECT_EQ(run(m).results.dkim.at(0).result, "permerror");  // NXDOMAIN
  dns.txt["sel._domainkey.example.com"] = txt({"v=DKIM1; k=ed25519; p=!!!"});
  const SenderAuthOutcome o = run(m);
  EXPECT_EQ(o.results.dkim.at(0).result, "permerror");
  EXPECT_EQ(o.results.dkim.at(0).reason, "key record: p= is not base64");
}

TEST_F(SenderAuthTest, TestingKeyFailureIsNeutral) {
  dns.txt["sel._domainkey.example.com"] = txt({dkim::key_record_text(*ed25519_key()).value() + "; t=y"});
  std::string m = signed_by(*ed25519_key(), "example.com", "sel", kMessage);
  m.replace(m.find("Shall we?"), 9, "Shall we!");
  const SenderAuthOutcome o = run(m);
  EXPECT_EQ(o.results.dkim.at(0).result, "neutral");
  EXPECT_TRUE(o.results.dkim.at(0).testing);
  EXPECT_NE(o.authentication_results.find("\tdkim=neutral (testing key) reason=\"testing key: body hash mismatch\""),
            std::string::npos)
      << o.authentication_results;
}

TEST_F(SenderAuthTest, PQuarantineFailureIsQuarantined) {
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=quarantine"});
  client = "198.51.100.7";
  const SenderAuthOutcome o = run(kMessage);
  EXPECT_EQ(o.decision.verdict, Verdict::Quarantine);
  EXPECT_FALSE(o.decision.reply.has_value());
  EXPECT_NE(o.authentication_results.find("dmarc=fail (p=quarantine dis=quarantine)"), std::string::npos);
}

TEST_F(SenderAuthTest, ReportModeOnlyRecords) {
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  client = "198.51.100.7";
  cfg.dmarc = config::DmarcMode::Report;
  const SenderAuthOutcome o = run(kMessage);
  EXPECT_EQ(o.results.dmarc.evaluation.result, dmarc::DmarcResult::Fail);
  EXPECT_EQ(o.decision.verdict, Verdict::Accept);
  EXPECT_NE(o.authentication_results.find("dmarc=fail (p=reject dis=none)"), std::string::npos);
}

TEST_F(SenderAuthTest, OffModeSkipsDmarc) {
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  client = "198.51.100.7";
  cfg.dmarc = config::DmarcMode::Off;
  const SenderAuthOutcome o = run(kMessage);
  EXPECT_FALSE(o.results.dmarc.evaluated);
  EXPECT_EQ(o.decision.verdict, Verdict::Accept);
  EXPECT_EQ(o.authentication_results.find("dmarc="), std::string::npos);
  for (const auto& q : dns.asked) EXPECT_EQ(q.find("_dmarc"), std::string::npos) << q;
}

TEST_F(SenderAuthTest, PolicyLookupTemperrorUnderEnforceDefers) {
  dns.txt["_dmarc.example.com"] = {DnsStatus::TempFail, {}, "timed out"};
  const SenderAuthOutcome o = run(kMessage);
  EXPECT_EQ(o.results.dmarc.evaluation.result, dmarc::DmarcResult::TempError);
  ASSERT_EQ(o.decision.verdict, Verdict::TempFail);
  EXPECT_EQ(o.decision.reply->lines.at(0), "cannot look up the DMARC policy of example.com now; try again later");
  EXPECT_NE(o.authentication_results.find("dmarc=temperror reason="), std::string::npos);
}

TEST_F(SenderAuthTest, OrganizationalDomainPolicyAndRelaxedVersusStrictAlignment) {
  std::string m = kMessage;
  m.replace(m.find("alice@example.com"), 17, "alice@news.example.com");
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  SenderAuthOutcome o = run(m);
  EXPECT_EQ(o.results.dmarc.evaluation.policy_domain, "example.com");
  EXPECT_EQ(o.results.dmarc.evaluation.result, dmarc::DmarcResult::Pass);  // relaxed: same org domain
  EXPECT_TRUE(o.results.dmarc.evaluation.spf_aligned);
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject; aspf=s"});
  o = run(m);
  EXPECT_EQ(o.results.dmarc.evaluation.result, dmarc::DmarcResult::Fail);
  EXPECT_EQ(o.decision.verdict, Verdict::Reject);
  // A policy of the From domain's own wins over the organizational one.
  dns.txt["_dmarc.news.example.com"] = txt({"v=DMARC1; p=none; aspf=s"});
  o = run(m);
  EXPECT_EQ(o.results.dmarc.evaluation.policy_domain, "news.example.com");
  EXPECT_EQ(o.decision.verdict, Verdict::Accept);
}

TEST_F(SenderAuthTest, PctZeroSamplesTheMessageOut) {
  client = "198.51.100.7";
  sample = 0;
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject; pct=0"});
  // RFC 7489 6.6.4: out of the sample, reject becomes quarantine.
  EXPECT_EQ(run(kMessage).decision.verdict, Verdict::Quarantine);
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=quarantine; pct=0"});
  EXPECT_EQ(run(kMessage).decision.verdict, Verdict::Accept);
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=quarantine; pct=50"});
  sample = 49;
  EXPECT_EQ(run(kMessage).decision.verdict, Verdict::Quarantine);
  sample = 50;
  EXPECT_EQ(run(kMessage).decision.verdict, Verdict::Accept);
}

// The intake removes forged fields (SenderAuthChecks::begin) with this
// function before the checks run; the checks still see and verify the block
// as received.
TEST_F(SenderAuthTest, OurForgedAuthenticationResultsIsRemovedOthersKept) {
  const std::string m =
      "Authentication-Results: mx.receiver.example; dmarc=pass header.from=example.com\r\n"
      "Authentication-Results: relay.other.example;\r\n"
      "\tspf=pass smtp.mailfrom=example.com\r\n"
      "authentication-results: (forged) MX.Receiver.Example;\r\n"
      " dkim=pass\r\n" +
      kMessage;
  size_t removed = 0;
  EXPECT_EQ(remove_authentication_results(header_block_of(m), "mx.receiver.example", &removed),
            "Authentication-Results: relay.other.example;\r\n"
            "\tspf=pass smtp.mailfrom=example.com\r\n" +
                header_block_of(kMessage));
  EXPECT_EQ(removed, 2u);
  EXPECT_EQ(run(m).decision.verdict, run(kMessage).decision.verdict);
}

TEST_F(SenderAuthTest, NullSenderChecksHeloOnly) {
  mail_from = "";
  dns.txt["mail.example.com"] = txt({"v=spf1 ip4:192.0.2.1 -all"});
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  const SenderAuthOutcome o = run(kMessage);
  EXPECT_FALSE(o.results.spf_mailfrom.has_value());
  ASSERT_TRUE(o.results.spf_helo.has_value());
  EXPECT_EQ(o.results.spf_helo->result.verdict, spf::SpfVerdict::Pass);
  // The HELO domain aligns with the From domain (relaxed): DMARC passes.
  EXPECT_EQ(o.results.dmarc.evaluation.result, dmarc::DmarcResult::Pass);
  EXPECT_NE(o.authentication_results.find("\tspf=pass (\"mail.example.com\" matched ip4:192.0.2.1) "
                                          "smtp.helo=mail.example.com;\r\n"),
            std::string::npos)
      << o.authentication_results;
  EXPECT_EQ(o.authentication_results.find("smtp.mailfrom"), std::string::npos);
}

TEST_F(SenderAuthTest, UnansweredLookupsEndInTemperrorAtTheDeadline) {
  dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  dns.silent.insert("sel._domainkey.example.com");
  client = "198.51.100.7";
  const auto start = std::chrono::steady_clock::now();
  const SenderAuthOutcome o = run(signed_by(*ed25519_key(), "example.com", "sel", kMessage), 200ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(o.results.dkim.at(0).result, "temperror");
  EXPECT_EQ(o.results.dkim.at(0).reason, "key lookup at sel._domainkey.example.com failed: no answer within 200 ms");
  EXPECT_EQ(o.decision.verdict, Verdict::TempFail);
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 2s);
}

TEST_F(SenderAuthTest, SeveralFromAddressesAreRefusedUnderEnforce) {
  const std::string m = "From: mallory@attacker.example\r\n" + kMessage;
  SenderAuthOutcome o = run(m);
  EXPECT_EQ(o.results.dmarc.evaluation.result, dmarc::DmarcResult::PermError);
  EXPECT_TRUE(o.results.dmarc.ambiguous_from);
  ASSERT_EQ(o.decision.verdict, Verdict::Reject);
  EXPECT_EQ(o.decision.reply->code, 550);
  cfg.dmarc = config::DmarcMode::Report;
  EXPECT_EQ(run(m).decision.verdict, Verdict::Accept);
  // No From at all: permerror, nothing to apply a policy to.
  cfg.dmarc = config::DmarcMode::Enforce;
  std::string none = kMessage;
  none.erase(0, none.find("To:"));
  o = run(none);
  EXPECT_EQ(o.results.dmarc.evaluation.result, dmarc::DmarcResult::PermError);
  EXPECT_FALSE(o.results.dmarc.ambiguous_from);
  EXPECT_EQ(o.decision.verdict, Verdict::Accept);
}

TEST_F(SenderAuthTest, ChecksTurnedOffAreNotRun) {
  cfg.spf = false;
  cfg.dkim_verify = false;
  cfg.dmarc = config::DmarcMode::Off;
  const SenderAuthOutcome o = run(signed_by(*ed25519_key(), "example.com", "sel", kMessage));
  EXPECT_TRUE(dns.asked.empty());
  EXPECT_EQ(o.authentication_results, "Authentication-Results: mx.receiver.example; none\r\n");
}

TEST_F(SenderAuthTest, StreamedBodyHashesOneHasherPerCanonicalization) {
  publish(*ed25519_key(), "a._domainkey.example.com");
  auto rsa = rsa_key(1024);
  publish(*rsa, "b._domainkey.example.com");
  const std::string m = signed_by(*rsa, "example.com", "b", signed_by(*ed25519_key(), "example.com", "a", kMessage));
  DkimBodyHashes hashes(dkim::find_signatures(header_block_of(m)));
  EXPECT_EQ(hashes.hasher_count(), 1u);  // both relaxed, no l=
  for (char c : m.substr(dkim::body_offset(m))) hashes.feed(std::string_view(&c, 1));
  hashes.finish();
  const SenderAuthOutcome o = run(m.substr(0, dkim::body_offset(m)), 5s, &hashes);
  ASSERT_EQ(o.results.dkim.size(), 2u);
  EXPECT_EQ(o.results.dkim[0].result, "pass") << o.results.dkim[0].reason;
  EXPECT_EQ(o.results.dkim[1].result, "pass") << o.results.dkim[1].reason;
}

// Interoperability: a message signed by python3-dkim (dkimpy) three times
// (rsa-sha256 relaxed/simple, ed25519-sha256 relaxed/simple, rsa-sha256
// simple/simple with l=), over a folded subject with trailing white space,
// an 8-bit body line and a line starting with a dot; made by
// fixtures/make_dkimpy_fixture.py, which checks that dkimpy verifies it.
TEST_F(SenderAuthTest, VerifiesWhatPythonDkimSigned) {
  const std::string m = dkimpy_fixture();
  ASSERT_FALSE(m.empty());
  ASSERT_EQ(DkimBodyHashes(dkim::find_signatures(header_block_of(m))).hasher_count(), 2u);  // simple, with and without l=
  SenderAuthOutcome o = run(m);
  ASSERT_EQ(o.results.dkim.size(), 3u);
  for (const auto& d : o.results.dkim) EXPECT_EQ(d.result, "pass") << d.selector << ": " << d.reason;
  // Changing a signed byte of the body breaks all three.
  std::string tampered = m;
  tampered.replace(tampered.find("8-bit"), 5, "8-BIT");
  o = run(tampered);
  for (const auto& d : o.results.dkim) EXPECT_EQ(d.result, "fail") << d.selector;
}

// A message streaming to its body file: DkimMessageStream finds the header
// section however the bytes are cut and hashes the rest as it comes.
TEST_F(SenderAuthTest, StreamedMessageSplitAnywhereVerifies) {
  const std::string m = dkimpy_fixture();
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{4096}}) {
    DkimMessageStream stream;
    for (size_t pos = 0; pos < m.size(); pos += chunk) stream.feed(std::string_view(m).substr(pos, chunk));
    EXPECT_TRUE(stream.header_complete());
    stream.finish();
    EXPECT_EQ(stream.header_block(), header_block_of(m)) << chunk;
    EXPECT_FALSE(stream.header_too_long());
    const SenderAuthOutcome o = run(stream.header_block(), 5s, stream.hashes());
    ASSERT_EQ(o.results.dkim.size(), 3u);
    for (const auto& d : o.results.dkim) EXPECT_EQ(d.result, "pass") << chunk << " " << d.selector << ": " << d.reason;
  }
}

TEST(DkimMessageStream, HeaderEndsAtTheFirstEmptyLineAndIsBounded) {
  struct Case {
    std::string message;
    std::string header;
  } cases[] = {
      {"A: 1\r\n\r\nbody\r\n", "A: 1\r\n\r\n"},
      {"\r\nbody", "\r\n"},
      {"A: 1\n\nbody", "A: 1\n\n"},
      {"A: 1\r\n \r\nB: 2\r\n\r\n", "A: 1\r\n \r\nB: 2\r\n\r\n"},  // a line of one space is not empty
      {"A: 1\r\r\n\r\n", "A: 1\r\r\n\r\n"},
      {"A: 1\r\nno empty line", "A: 1\r\nno empty line"},
  };
  for (const auto& c : cases) {
    DkimMessageStream s;
    s.feed(c.message);
    s.finish();
    EXPECT_EQ(s.header_block(), c.header) << c.message;
    EXPECT_EQ(s.header_block(), c.message.substr(0, dkim::body_offset(c.message))) << c.message;
  }
  DkimMessageStream small(8);
  small.feed("Subject: a long one\r\n\r\nbody\r\n");
  EXPECT_TRUE(small.header_complete());
  EXPECT_TRUE(small.header_too_long());
  EXPECT_EQ(small.header_block(), "Subject:");
}

}  // namespace
}  // namespace volley::inbound
