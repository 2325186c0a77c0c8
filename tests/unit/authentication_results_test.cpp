// Authentication-Results (RFC 8601): the header we write, and the removal
// of headers with our authserv-id that arrived with a message (forged
// verdicts) while every other header stays byte for byte.
#include "inbound/authentication_results.hpp"

#include <gtest/gtest.h>

namespace volley::inbound {
namespace {

TEST(AuthenticationResults, HeaderWithEveryMethod) {
  std::vector<MethodResult> r = {
      {"spf", "pass", "", {{"smtp.mailfrom", "bounces@example.com"}}, ""},
      {"dkim", "pass", "", {{"header.d", "example.com"}, {"header.s", "s2026"}, {"header.b", "AbCd1234"}}, ""},
      {"dmarc", "fail", "", {{"header.from", "example.com"}}, "p=reject dis=reject"},
  };
  EXPECT_EQ(authentication_results_header("mx.volley.test", r),
            "Authentication-Results: mx.volley.test;\r\n"
            "\tspf=pass smtp.mailfrom=bounces@example.com;\r\n"
            "\tdkim=pass header.d=example.com header.s=s2026 header.b=AbCd1234;\r\n"
            "\tdmarc=fail (p=reject dis=reject) header.from=example.com\r\n");
}

TEST(AuthenticationResults, NoResultsSaysNone) {
  EXPECT_EQ(authentication_results_header("mx.volley.test", {}), "Authentication-Results: mx.volley.test; none\r\n");
}

TEST(AuthenticationResults, HostileValuesAreQuotedNeverRaw) {
  std::vector<MethodResult> r = {{"spf", "fail", "bad \"record\"\r\nX-Injected: 1", {{"smtp.helo", "a b;c"}}, "x)y"}};
  std::string h = authentication_results_header("mx.volley.test", r);
  EXPECT_EQ(h.find("\r\nX-Injected"), std::string::npos) << h;
  EXPECT_NE(h.find("reason=\"bad \\\"record\\\"X-Injected: 1\""), std::string::npos) << h;
  EXPECT_NE(h.find("smtp.helo=\"a b;c\""), std::string::npos) << h;
  EXPECT_NE(h.find("(x\\)y)"), std::string::npos) << h;
}

TEST(AuthenticationResults, AuthservIdParsing) {
  EXPECT_EQ(authserv_id_of(" mx.volley.test; spf=pass"), "mx.volley.test");
  EXPECT_EQ(authserv_id_of(" (comment (nested)) mx.volley.test 1; none"), "mx.volley.test");
  EXPECT_EQ(authserv_id_of("\r\n\tmx.volley.test;"), "mx.volley.test");
  EXPECT_EQ(authserv_id_of(" \"mx.volley.test\"; none"), "mx.volley.test");
  EXPECT_EQ(authserv_id_of(""), "");
  // fuzz_dmarc found these: a backslash at the very end of an unclosed
  // comment used to step past the end (std::out_of_range).
  EXPECT_EQ(authserv_id_of("('  \\..\\\\\\"), "");
  EXPECT_EQ(authserv_id_of("(\\"), "");
}

TEST(AuthenticationResults, RemovesOnlyOursKeepingTheRestExactly) {
  const std::string block =
      "Received: from x\r\n"
      "Authentication-Results: MX.Volley.Test;\r\n"
      "\tdmarc=pass header.from=bank.test\r\n"
      "Authentication-Results: other.example; spf=fail\r\n"
      "authentication-results: (forged) mx.volley.test; dkim=pass\r\n"
      "Subject: hello\r\n"
      "\r\n";
  size_t removed = 0;
  std::string out = remove_authentication_results(block, "mx.volley.test", &removed);
  EXPECT_EQ(removed, 2u);
  EXPECT_EQ(out,
            "Received: from x\r\n"
            "Authentication-Results: other.example; spf=fail\r\n"
            "Subject: hello\r\n"
            "\r\n");
}

TEST(AuthenticationResults, PrefixOfOurIdIsNotOurs) {
  const std::string block = "Authentication-Results: mx.volley.test.evil; spf=pass\r\n";
  EXPECT_EQ(remove_authentication_results(block, "mx.volley.test"), block);
}

}  // namespace
}  // namespace volley::inbound
