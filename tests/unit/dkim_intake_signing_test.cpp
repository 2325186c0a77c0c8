// DKIM signing at intake (issue 10, point 1), in-process: which entries sign
// which From domain, and whole SMTP dialogues through the session with the
// real signer — authenticated submission, a relay network, a message large
// enough to stream to disk in pieces, and unauthenticated mail that must not
// be signed. Every signature is checked with the verifier against the key's
// published record, over the bytes exactly as queued.
#include <gtest/gtest.h>

#include <string>

#include "dkim/body_hasher.hpp"
#include "dkim/header_fields.hpp"
#include "dkim/keygen.hpp"
#include "dkim/signature.hpp"
#include "dkim/verifier.hpp"
#include "inbound/dkim_signing.hpp"
#include "smtp/session.hpp"
#include "session_driver.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace volley::inbound {
namespace {

using test::Dialogue;

using dkim::Algorithm;

DkimSigningEntry entry(std::string domain, std::string selector, Algorithm a) {
  auto key = dkim::generate_key(a, 2048);
  EXPECT_TRUE(key.ok());
  return DkimSigningEntry{std::move(domain), std::move(selector), "", key.value()};
}

TEST(DkimSigningEntries, OwnDomainThenClosestParentThenNothing) {
  DkimSigning signing({entry("example.com", "a", Algorithm::Ed25519Sha256),
                       entry("example.com", "b", Algorithm::Ed25519Sha256),
                       entry("news.example.com", "c", Algorithm::Ed25519Sha256)});
  auto selectors = [&](std::string_view from) {
    std::string s;
    for (const auto* e : signing.entries_for(from)) s += e->selector;
    return s;
  };
  EXPECT_EQ(selectors("example.com"), "ab");
  EXPECT_EQ(selectors("mail.example.com"), "ab");       // parent
  EXPECT_EQ(selectors("news.example.com"), "c");         // its own, not the parent's too
  EXPECT_EQ(selectors("a.b.news.example.com"), "c");     // closest parent
  EXPECT_EQ(selectors("example.net"), "");
  EXPECT_EQ(selectors("notexample.com"), "");            // a suffix is not a parent
  EXPECT_EQ(selectors("com"), "");
}

// The rule `volley doctor` shares: the domain itself or its closest parent.
TEST(DkimSigningEntries, ClosestSigningDomainIsTheDomainOrAParentOnly) {
  auto only = [](std::string_view configured) {
    return [configured](std::string_view d) { return iequals(d, configured); };
  };
  EXPECT_EQ(closest_signing_domain("example.com", only("example.com")), "example.com");
  EXPECT_EQ(closest_signing_domain("news.Example.COM", only("example.com")), "Example.COM");
  EXPECT_EQ(closest_signing_domain("badexample.com", only("example.com")), "");
  EXPECT_EQ(closest_signing_domain("example.com", only("news.example.com")), "");
}

TEST(DkimSigningEntries, NoFromOrSeveralFromsAreNotSigned) {
  DkimSigning signing({entry("example.com", "a", Algorithm::Ed25519Sha256)});
  EXPECT_EQ(signing.begin("To: x@example.com\r\nSubject: s\r\n\r\n"), nullptr);
  EXPECT_EQ(signing.begin("From: a@example.com\r\nFrom: b@example.com\r\n\r\n"), nullptr);
  EXPECT_EQ(signing.begin("From: a@example.com, b@evil.test\r\n\r\n"), nullptr);
  EXPECT_NE(signing.begin("From: A <a@Example.COM>, b@example.com\r\n\r\n"), nullptr);
}

TEST(DkimSigningKeys, UnreadableKeyNamesTheFile) {
  config::DkimKey k{"example.com", "s1", "/nonexistent/dkim/s1.pem", "ed25519-sha256"};
  auto r = load_dkim_keys({k});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/dkim/s1.pem"), std::string::npos) << r.error().message;
}

// ---- whole dialogues ----

const std::string kBody =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@remote.test\r\n"
    "Subject: folded\r\n"
    " subject  \r\n"
    "\r\n"
    "..a line that starts with a dot\r\n"
    "caf\xc3\xa9 8-bit, trailing space  \r\n"
    "\r\n\r\n";

std::string auth_plain() { return "AUTH PLAIN " + base64_encode(std::string("\0alice@example.com\0pw", 21)) + "\r\n"; }

std::vector<std::string> submission(const std::string& wire_body) {
  return {"EHLO client.test\r\n", auth_plain(), "MAIL FROM:<alice@example.com>\r\n", "RCPT TO:<bob@remote.test>\r\n",
          "DATA\r\n", wire_body + ".\r\n", "QUIT\r\n"};
}

// Checks the index-th signature of `message` (our Received field first).
dkim::VerifyResult verify_queued(const std::string& message, const dkim::SigningKey& key, size_t index) {
  const size_t off = dkim::body_offset(message);
  const std::string headers = message.substr(0, off), body = message.substr(off);
  auto found = dkim::find_signatures(headers);
  EXPECT_GT(found.size(), index);
  if (found.size() <= index || !found[index].parsed.ok()) return {};
  const auto& sig = found[index].parsed.value();
  dkim::BodyHasher h(sig.body_canon, sig.body_length);
  h.feed(body);
  return dkim::verify(sig, headers, h.finish(), dkim::key_record_text(key).value(), sig.timestamp.value_or(0));
}

TEST(DkimIntakeSigning, AuthenticatedSubmissionIsSignedWithEveryKeyOfTheDomain) {
  DkimSigning signer({entry("example.com", "rsa", Algorithm::RsaSha256),
                      entry("example.com", "ed", Algorithm::Ed25519Sha256)});
  Dialogue d(config::SmtpRole::Submission);
  d.settings.signer = &signer;
  std::string q = d.run(submission(kBody));
  ASSERT_FALSE(q.empty()) << d.out;
  ASSERT_EQ(dkim::find_signatures(q.substr(0, dkim::body_offset(q))).size(), 2u);
  // Message-ID and Date were added, before signing, and are signed.
  EXPECT_NE(q.find("Message-ID: <"), std::string::npos);
  auto first = dkim::find_signatures(q.substr(0, dkim::body_offset(q)))[0].parsed.value();
  EXPECT_NE(std::find(first.signed_headers.begin(), first.signed_headers.end(), "message-id"),
            first.signed_headers.end());
  EXPECT_EQ(verify_queued(q, *signer.entries_for("example.com")[0]->key, 0).status, dkim::VerifyStatus::Pass);
  EXPECT_EQ(verify_queued(q, *signer.entries_for("example.com")[1]->key, 1).status, dkim::VerifyStatus::Pass);
  // The queued bytes are the signed bytes: change one and it fails.
  std::string tampered = q;
  tampered.replace(tampered.find("caf"), 3, "CAF");
  EXPECT_EQ(verify_queued(tampered, *signer.entries_for("example.com")[0]->key, 0).status, dkim::VerifyStatus::Fail);
}

TEST(DkimIntakeSigning, RelayNetworkClientIsSignedWithoutAddedFields) {
  DkimSigning signer({entry("example.com", "ed", Algorithm::Ed25519Sha256)});
  Dialogue d(config::SmtpRole::Mx);
  d.settings.signer = &signer;
  d.directory.relay = true;
  std::string q = d.run({"EHLO app.test\r\n", "MAIL FROM:<alice@example.com>\r\n", "RCPT TO:<bob@remote.test>\r\n",
                         "DATA\r\n", kBody + ".\r\n", "QUIT\r\n"});
  ASSERT_FALSE(q.empty()) << d.out;
  EXPECT_EQ(q.find("Message-ID:"), std::string::npos);
  EXPECT_EQ(verify_queued(q, *signer.entries_for("example.com")[0]->key, 0).status, dkim::VerifyStatus::Pass);
}

TEST(DkimIntakeSigning, InternetMailForLocalMailboxesIsNotSigned) {
  DkimSigning signer({entry("example.com", "ed", Algorithm::Ed25519Sha256)});
  Dialogue d(config::SmtpRole::Mx);
  d.settings.signer = &signer;
  std::string q = d.run({"EHLO other.test\r\n", "MAIL FROM:<alice@example.com>\r\n", "RCPT TO:<u@local.test>\r\n",
                         "DATA\r\n", kBody + ".\r\n", "QUIT\r\n"});
  ASSERT_FALSE(q.empty()) << d.out;
  EXPECT_EQ(q.find("DKIM-Signature"), std::string::npos);
}

TEST(DkimIntakeSigning, OtherFromDomainIsNotSigned) {
  DkimSigning signer({entry("example.org", "ed", Algorithm::Ed25519Sha256)});
  Dialogue d(config::SmtpRole::Submission);
  d.settings.signer = &signer;
  std::string q = d.run(submission(kBody));
  ASSERT_FALSE(q.empty()) << d.out;
  EXPECT_EQ(q.find("DKIM-Signature"), std::string::npos);
}

TEST(DkimIntakeSigning, MessageStreamedToDiskIsSignedOverAllItsPieces) {
  DkimSigning signer({entry("example.com", "rsa", Algorithm::RsaSha256)});
  Dialogue d(config::SmtpRole::Submission, 64 * 1024);
  d.settings.signer = &signer;
  std::string big = kBody;
  for (int i = 0; big.size() < 300 * 1024; ++i) big += "line " + std::to_string(i) + " of a long body \t \r\n";
  big += "\r\n\r\n";
  std::string q = d.run(submission(big));
  ASSERT_FALSE(d.body_file.empty()) << "the message did not stream to disk";
  ASSERT_FALSE(q.empty()) << d.out;
  EXPECT_EQ(verify_queued(q, *signer.entries_for("example.com")[0]->key, 0).status, dkim::VerifyStatus::Pass);
}

}  // namespace
}  // namespace volley::inbound
