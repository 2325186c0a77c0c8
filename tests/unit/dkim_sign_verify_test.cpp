// DKIM signing and verification: RFC 8463 Appendix A known answers, round
// trips for both algorithms, tampering, key checks, keygen's DNS record.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "admin/dkim_command.hpp"
#include "dkim/body_hasher.hpp"
#include "dkim/header_fields.hpp"
#include "dkim/header_hash.hpp"
#include "dkim/keygen.hpp"
#include "dkim/signer.hpp"
#include "dkim/verifier.hpp"
#include "util/base64.hpp"

namespace volley::dkim {
namespace {

// RFC 8463 Appendix A: keys, DNS records and the signed message.
const std::string kRfcEd25519Seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const std::string kRfcEd25519Record = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const std::string kRfcRsaRecord =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
    "2kryOTIKT+l/K4w3QIDAQAB";
const std::string kRfcMessage =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";
constexpr int64_t kRfcNow = 1528637909;

std::shared_ptr<const SigningKey> rfc_ed25519_key() {
  auto seed = base64_decode(kRfcEd25519Seed).value();
  EVP_PKEY* raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  auto key = make_signing_key(std::shared_ptr<evp_pkey_st>(raw, EVP_PKEY_free), Algorithm::Ed25519Sha256);
  EXPECT_TRUE(key.ok());
  return key.value();
}

struct Split {
  std::string headers;
  std::string body;
};
Split split(const std::string& message) {
  size_t off = body_offset(message);
  return {message.substr(0, off), message.substr(off)};
}

std::string body_hash(const ParsedSignature& sig, const std::string& body) {
  BodyHasher h(sig.body_canon, sig.body_length);
  h.feed(body);
  return h.finish();
}

VerifyResult verify_message(const std::string& message, const std::string& record, size_t index = 0,
                            int64_t now = kRfcNow) {
  auto [headers, body] = split(message);
  auto found = find_signatures(headers);
  EXPECT_GT(found.size(), index);
  if (found.size() <= index) return {};
  EXPECT_TRUE(found[index].parsed.ok()) << found[index].parsed.error().message;
  if (!found[index].parsed.ok()) return {};
  const auto& sig = found[index].parsed.value();
  return verify(sig, headers, body_hash(sig, body), record, now);
}

TEST(DkimRfc8463, Ed25519SignatureVerifies) {
  auto r = verify_message(kRfcMessage, kRfcEd25519Record, 0);
  EXPECT_EQ(r.status, VerifyStatus::Pass) << r.reason;
}

TEST(DkimRfc8463, RsaSignatureVerifies) {
  auto r = verify_message(kRfcMessage, kRfcRsaRecord, 1);
  EXPECT_EQ(r.status, VerifyStatus::Pass) << r.reason;
}

// Ed25519 is deterministic: signing the RFC's own signature field (b=
// blanked) with the RFC's key gives exactly its b=.
TEST(DkimRfc8463, SignerReproducesBAndBh) {
  auto [headers, body] = split(kRfcMessage);
  auto sig = find_signatures(headers).at(0).parsed.value();
  std::string blanked = sig.raw_field;
  blanked.erase(sig.b_value_begin, sig.b_value_end - sig.b_value_begin);
  auto b = sign_data(*rfc_ed25519_key(), signing_input(headers, sig.signed_headers, sig.header_canon, blanked));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(base64_encode(b.value()), "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");

  // Our own signer, over the unsigned message: the same bh=, and it verifies.
  std::string unsigned_headers = headers.substr(headers.find("From:"));
  BodyHasher bh(Canon::Relaxed);
  bh.feed(body);
  std::string bh64 = bh.finish();
  EXPECT_EQ(bh64, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  auto field = sign(*rfc_ed25519_key(), "football.example.com", "brisbane", unsigned_headers, bh64, kRfcNow);
  ASSERT_TRUE(field.ok());
  EXPECT_NE(field->find("bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;"), std::string::npos);
  auto r = verify_message(field.value() + unsigned_headers + body, kRfcEd25519Record);
  EXPECT_EQ(r.status, VerifyStatus::Pass) << r.reason;
}

const std::string kMessage =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.net\r\n"
    "Subject: a folded\r\n"
    "\tsubject with trailing space  \r\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
    "Message-ID: <1@example.com>\r\n"
    "X-Not-Signed: x\r\n"
    "\r\n"
    ".leading dot\r\n"
    "caf\xc3\xa9 trailing  \r\n"
    "\r\n";

std::shared_ptr<const SigningKey> fresh(Algorithm a) {
  auto key = generate_key(a, 2048);
  EXPECT_TRUE(key.ok()) << key.error().message;
  return key.value();
}

std::string signed_message(const SigningKey& key, const std::string& message) {
  auto [headers, body] = split(message);
  BodyHasher bh(Canon::Relaxed);
  bh.feed(body);
  auto field = sign(key, "example.com", "s1", headers, bh.finish(), 1700000000);
  EXPECT_TRUE(field.ok());
  return field.value() + message;
}

class DkimRoundTrip : public ::testing::TestWithParam<Algorithm> {};

TEST_P(DkimRoundTrip, SignThenVerifyAndTamper) {
  auto key = fresh(GetParam());
  auto record = key_record_text(*key).value();
  std::string msg = signed_message(*key, kMessage);

  // The field: folded at 78, b= last, From over-signed, unsigned header left out.
  std::string field = msg.substr(0, msg.find("From: Alice"));
  std::istringstream lines(field);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 79u) << line;  // 78 + CR
  auto sig = parse_signature(field).value();
  EXPECT_EQ(sig.signed_headers,
            (std::vector<std::string>{"from", "from", "to", "subject", "date", "message-id"}));
  EXPECT_GT(field.rfind("b="), field.rfind("bh="));

  EXPECT_EQ(verify_message(msg, record, 0, 1700000000).status, VerifyStatus::Pass);

  auto tampered_body = msg;
  tampered_body.replace(tampered_body.find("leading dot"), 7, "LEADING");
  auto r = verify_message(tampered_body, record, 0, 1700000000);
  EXPECT_EQ(r.status, VerifyStatus::Fail);
  EXPECT_EQ(r.reason, "body hash mismatch");

  auto tampered_subject = msg;
  tampered_subject.replace(tampered_subject.find("a folded"), 8, "b folded");
  r = verify_message(tampered_subject, record, 0, 1700000000);
  EXPECT_EQ(r.status, VerifyStatus::Fail);
  EXPECT_EQ(r.reason, "signature mismatch");

  // A second From added after signing breaks the signature (over-signing).
  auto second_from = msg;
  second_from.insert(second_from.find("To: bob"), "From: mallory@evil.example\r\n");
  EXPECT_EQ(verify_message(second_from, record, 0, 1700000000).status, VerifyStatus::Fail);

  // Whitespace changes relaxed canonicalization forgives.
  auto respaced = msg;
  respaced.replace(respaced.find("To: bob"), 7, "To:    bob");
  EXPECT_EQ(verify_message(respaced, record, 0, 1700000000).status, VerifyStatus::Pass);
}

INSTANTIATE_TEST_SUITE_P(Dkim, DkimRoundTrip, ::testing::Values(Algorithm::RsaSha256, Algorithm::Ed25519Sha256));

TEST(DkimSign, RefusesNamesThatWouldCorruptTheField) {
  auto key = fresh(Algorithm::Ed25519Sha256);
  EXPECT_FALSE(sign(*key, "example.com; x=1", "s1", "From: a@b.c\r\n", "AAAA", 1).ok());
  EXPECT_FALSE(sign(*key, "example.com", "s 1", "From: a@b.c\r\n", "AAAA", 1).ok());
}

TEST(DkimVerify, KeyProblems) {
  auto key = fresh(Algorithm::Ed25519Sha256);
  std::string msg = signed_message(*key, kMessage);
  auto rsa_record = key_record_text(*fresh(Algorithm::RsaSha256)).value();
  EXPECT_EQ(verify_message(msg, "v=DKIM1; k=ed25519; p=", 0, 1700000000).reason, "key revoked");
  EXPECT_EQ(verify_message(msg, rsa_record, 0, 1700000000).status, VerifyStatus::PermError);  // wrong type
  EXPECT_EQ(verify_message(msg, "v=DKIM1; k=ed25519; p=AAAA", 0, 1700000000).status, VerifyStatus::PermError);
  EXPECT_EQ(verify_message(msg, "garbage", 0, 1700000000).status, VerifyStatus::PermError);
  auto other = key_record_text(*fresh(Algorithm::Ed25519Sha256)).value();
  EXPECT_EQ(verify_message(msg, other, 0, 1700000000).reason, "signature mismatch");
  auto testing = verify_message(msg, key_record_text(*key).value() + "; t=y", 0, 1700000000);
  EXPECT_EQ(testing.status, VerifyStatus::Pass);
  EXPECT_TRUE(testing.testing);
}

TEST(DkimVerify, RsaUnder1024BitsFails) {
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{768});
  ASSERT_NE(small, nullptr);
  // Sign with it directly (make_signing_key refuses it for signing).
  EXPECT_FALSE(make_signing_key(std::shared_ptr<evp_pkey_st>(EVP_PKEY_dup(small), EVP_PKEY_free),
                                Algorithm::RsaSha256)
                   .ok());
  SigningKey weak{Algorithm::RsaSha256, 768, std::shared_ptr<evp_pkey_st>(small, EVP_PKEY_free)};
  std::string msg = signed_message(weak, kMessage);
  auto record = key_record_text(weak).value();
  auto r = verify_message(msg, record, 0, 1700000000);
  EXPECT_EQ(r.status, VerifyStatus::Fail);
  EXPECT_NE(r.reason.find("key too small"), std::string::npos) << r.reason;
}

TEST(DkimVerify, ExpiredSignatureIsPermError) {
  std::string msg = kRfcMessage;
  msg.replace(msg.find("t=1528637909;"), 13, "t=1528637909; x=1528637910;");
  auto r = verify_message(msg, kRfcEd25519Record, 0, 1528637999);
  EXPECT_EQ(r.status, VerifyStatus::PermError);
  EXPECT_EQ(r.reason, "signature expired");
}

TEST(DkimVerify, BodyLengthLimitAllowsAppendedText) {
  auto key = fresh(Algorithm::Ed25519Sha256);
  auto [headers, body] = split(kMessage);
  // Signed by hand with l= (our signer never sets l=): appended text is ignored.
  std::string field = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=s1; l=14; h=from; bh=";
  BodyHasher bh(Canon::Relaxed, 14);
  bh.feed(body);
  field += bh.finish() + "; b=";
  auto b = sign_data(*key, signing_input(headers, {"from"}, Canon::Relaxed, field));
  std::string msg = field + base64_encode(b.value()) + "\r\n" + kMessage + "appended\r\n";
  EXPECT_EQ(verify_message(msg, key_record_text(*key).value(), 0, 1700000000).status, VerifyStatus::Pass);
}

TEST(DkimKeys, LoadNamesTheFileAndChecksTheKey) {
  auto dir = std::filesystem::temp_directory_path() / ("volley_dkim_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto missing = load_signing_key((dir / "none.pem").string(), Algorithm::RsaSha256);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("none.pem"), std::string::npos);

  std::ostringstream out, err;
  admin::DkimKeygenOptions opts{"Example.com", "s1", "ed25519", 2048, ""};
  ASSERT_EQ(admin::run_dkim_keygen(opts, dir.string(), out, err), 0) << err.str();
  auto path = dir / "dkim" / "example.com.s1.pem";
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir / "dkim").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(out.str().rfind("s1._domainkey.example.com. IN TXT \"v=DKIM1; k=ed25519; p=", 0), 0u) << out.str();

  auto loaded = load_signing_key(path.string(), Algorithm::Ed25519Sha256);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  std::string printed = out.str();
  EXPECT_NE(printed.find(key_record_text(*loaded.value()).value()), std::string::npos);
  auto wrong = load_signing_key(path.string(), Algorithm::RsaSha256);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find(path.string()), std::string::npos);

  // Never over an existing key; bad names and small RSA refused.
  std::ostringstream out2, err2;
  EXPECT_EQ(admin::run_dkim_keygen(opts, dir.string(), out2, err2), 1);
  EXPECT_NE(err2.str().find("exists"), std::string::npos);
  admin::DkimKeygenOptions evil{"../etc", "s1", "rsa", 2048, ""};
  EXPECT_EQ(admin::run_dkim_keygen(evil, dir.string(), out2, err2), 1);
  admin::DkimKeygenOptions small{"example.com", "s2", "rsa", 1024, ""};
  EXPECT_EQ(admin::run_dkim_keygen(small, dir.string(), out2, err2), 1);
  EXPECT_FALSE(std::filesystem::exists(dir / "dkim" / "example.com.s2.pem"));
  std::filesystem::remove_all(dir);
}

TEST(DkimKeys, RsaRecordSplitInto255ByteStrings) {
  auto key = fresh(Algorithm::RsaSha256);
  std::string record = key_record_text(*key).value();
  ASSERT_GT(record.size(), 255u);
  std::string line = dns_record_line("s1", "example.com", record);
  ASSERT_EQ(line.rfind("s1._domainkey.example.com. IN TXT \"v=DKIM1; k=rsa; p=", 0), 0u);
  // Rejoining the quoted strings gives the record back; each is <= 255 bytes.
  std::string joined;
  for (size_t pos = line.find('"'); pos != std::string::npos;) {
    size_t end = line.find('"', pos + 1);
    std::string part = line.substr(pos + 1, end - pos - 1);
    EXPECT_LE(part.size(), 255u);
    joined += part;
    pos = line.find('"', end + 1);
  }
  EXPECT_EQ(joined, record);
}

}  // namespace
}  // namespace volley::dkim
