// The receivers' transport-security policies as decisions: the table of
// mode x MX match x TLS outcome -> deliver / defer / deliver-and-log, and
// which TLSA records are usable for SMTP (RFC 7672 3.1).
#include "delivery/transport_security.hpp"

#include <gtest/gtest.h>

namespace volley::delivery {
namespace {

struct DecideRow {
  const char* name;
  PolicyKind kind;
  bool testing;
  bool with_tlsa;  // Dane: usable records published
  bool mx_matches;
  TlsOutcome tls;
  Verdict expected;
  const char* reason_has;  // "" = no reason
};

class DecideTable : public ::testing::TestWithParam<DecideRow> {};

TEST_P(DecideTable, Verdict) {
  const auto& row = GetParam();
  PeerPolicy p{row.kind, row.testing, "example.com", {}};
  if (row.with_tlsa) p.tlsa.push_back({3, 1, 1, std::string(32, 'x')});
  const Decision d = decide(&p, "mx.example.com", row.mx_matches, row.tls);
  EXPECT_EQ(d.verdict, row.expected);
  if (*row.reason_has)
    EXPECT_NE(d.reason.find(row.reason_has), std::string::npos) << d.reason;
  else
    EXPECT_EQ(d.reason, "");
}

using K = PolicyKind;
using T = TlsOutcome;
using V = Verdict;

INSTANTIATE_TEST_SUITE_P(
    Rows, DecideTable,
    ::testing::Values(
        // No policy: whatever happens, deliver (opportunistic TLS decides the rest).
        DecideRow{"NoneNoTls", K::None, false, false, false, T::NotOffered, V::Deliver, ""},
        DecideRow{"NoneUnverified", K::None, false, false, true, T::Unverified, V::Deliver, ""},
        // MTA-STS enforce.
        DecideRow{"EnforceVerified", K::MtaSts, false, false, true, T::Verified, V::Deliver, ""},
        DecideRow{"EnforceMxMismatch", K::MtaSts, false, false, false, T::Verified, V::Defer,
                  "MTA-STS policy of example.com (mode enforce) does not list MX host mx.example.com"},
        DecideRow{"EnforceNoStarttls", K::MtaSts, false, false, true, T::NotOffered, V::Defer, "does not offer STARTTLS"},
        DecideRow{"EnforceHandshake", K::MtaSts, false, false, true, T::HandshakeFailed, V::Defer,
                  "failed the TLS handshake"},
        DecideRow{"EnforceBadCert", K::MtaSts, false, false, true, T::Unverified, V::Defer,
                  "requires TLS with a valid certificate for mx.example.com"},
        // MTA-STS testing: the same cases are logged, never deferred.
        DecideRow{"TestingVerified", K::MtaSts, true, false, true, T::Verified, V::Deliver, ""},
        DecideRow{"TestingMxMismatch", K::MtaSts, true, false, false, T::Verified, V::DeliverAndLog, "(mode testing)"},
        DecideRow{"TestingNoStarttls", K::MtaSts, true, false, true, T::NotOffered, V::DeliverAndLog, "STARTTLS"},
        DecideRow{"TestingBadCert", K::MtaSts, true, false, true, T::Unverified, V::DeliverAndLog, "valid certificate"},
        // DANE: TLS mandatory; the MX match is MTA-STS's business, not DANE's.
        DecideRow{"DaneVerified", K::Dane, false, true, false, T::Verified, V::Deliver, ""},
        DecideRow{"DaneMismatch", K::Dane, false, true, true, T::Unverified, V::Defer, "matches no TLSA record"},
        DecideRow{"DaneNoStarttls", K::Dane, false, true, true, T::NotOffered, V::Defer, "DANE (RFC 7672)"},
        DecideRow{"DaneHandshake", K::Dane, false, true, true, T::HandshakeFailed, V::Defer, "TLS handshake"},
        // Only unusable records: encryption mandatory, authentication not (RFC 7672 2.2).
        DecideRow{"DaneUnusableUnverified", K::Dane, false, false, true, T::Unverified, V::Deliver, ""},
        DecideRow{"DaneUnusableNoStarttls", K::Dane, false, false, true, T::NotOffered, V::Defer, "STARTTLS"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Decide, NullPolicyDelivers) {
  EXPECT_EQ(decide(nullptr, "mx", false, TlsOutcome::NotOffered).verdict, Verdict::Deliver);
}

struct UsableRow {
  const char* name;
  TlsaRecord r;
  bool usable;
};

class TlsaUsable : public ::testing::TestWithParam<UsableRow> {};

TEST_P(TlsaUsable, PerRfc7672) { EXPECT_EQ(tlsa_usable(GetParam().r), GetParam().usable); }

INSTANTIATE_TEST_SUITE_P(
    Rows, TlsaUsable,
    ::testing::Values(UsableRow{"DaneEeSpkiSha256", {3, 1, 1, std::string(32, 'a')}, true},
                      UsableRow{"DaneEeCertSha512", {3, 0, 2, std::string(64, 'a')}, true},
                      UsableRow{"DaneTaFull", {2, 0, 0, std::string(700, 'a')}, true},
                      UsableRow{"PkixTaUnusable", {0, 1, 1, std::string(32, 'a')}, false},
                      UsableRow{"PkixEeUnusable", {1, 1, 1, std::string(32, 'a')}, false},
                      UsableRow{"UsageFour", {4, 1, 1, std::string(32, 'a')}, false},
                      UsableRow{"SelectorTwo", {3, 2, 1, std::string(32, 'a')}, false},
                      UsableRow{"MtypeThree", {3, 1, 3, std::string(32, 'a')}, false},
                      UsableRow{"Sha256WrongLength", {3, 1, 1, std::string(31, 'a')}, false},
                      UsableRow{"Sha512WrongLength", {3, 1, 2, std::string(32, 'a')}, false},
                      UsableRow{"ExactEmpty", {3, 1, 0, ""}, false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TransportSecurity, TlsaNameAndLabels) {
  EXPECT_EQ(tlsa_name("mx.example.com", 25), "_25._tcp.mx.example.com");
  EXPECT_EQ(policy_label(nullptr), "none");
  PeerPolicy p{PolicyKind::MtaSts, true, "d", {}};
  EXPECT_EQ(policy_label(&p), "mta-sts testing");
  p.testing = false;
  EXPECT_EQ(policy_label(&p), "mta-sts");
  p.kind = PolicyKind::Dane;
  EXPECT_EQ(policy_label(&p), "dane");
}

}  // namespace
}  // namespace volley::delivery
