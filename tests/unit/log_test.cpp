#include "util/log.hpp"

#include <gtest/gtest.h>

namespace volley::log {
namespace {

struct Capture {
  std::string out;
  Capture() { set_sink_for_tests(&out); }
  ~Capture() {
    set_sink_for_tests(nullptr);
    set_format(Format::KeyValue);
  }
};

TEST(Log, KeyValueQuotesAndEscapes) {
  Capture c;
  info("smtp.test").kv("client", "192.0.2.1").kv("text", "a b\"c\r\n").kv("n", 42);
  EXPECT_NE(c.out.find(" event=smtp.test client=192.0.2.1 text=\"a b\\\"c\\x0d\\x0a\" n=42\n"), std::string::npos) << c.out;
  EXPECT_EQ(c.out.find('\r'), std::string::npos);
}

TEST(Log, JsonIsOneValidLine) {
  Capture c;
  set_format(Format::Json);
  info("smtp.test").kv("client", "x\"y").kv("bin", std::string("\xff\x01", 2)).kv("ok", true);
  EXPECT_EQ(c.out.back(), '\n');
  EXPECT_EQ(c.out.find('\n'), c.out.size() - 1);
  EXPECT_NE(c.out.find("\"event\":\"smtp.test\",\"client\":\"x\\\"y\",\"bin\":\"\\u00ff\\u0001\",\"ok\":true}"), std::string::npos) << c.out;
}

// 1f: one escaping rule, applied once, the same for every field.
TEST(Log, OneEscapingRuleUtf8KeptControlsEscaped) {
  Capture c;
  info("t").kv("utf8", "jos\xc3\xa9@x.test").kv("c1", "a\xc2\x85" "b").kv("bad", "a\xff" "b").kv("bs", "a\\b");
  EXPECT_NE(c.out.find(" utf8=\"jos\xc3\xa9@x.test\""), std::string::npos) << c.out;
  EXPECT_NE(c.out.find(" c1=\"a\\xc2\\x85b\""), std::string::npos) << c.out;
  EXPECT_NE(c.out.find(" bad=\"a\\xffb\""), std::string::npos) << c.out;
  EXPECT_NE(c.out.find(" bs=\"a\\\\b\""), std::string::npos) << "a backslash is escaped once: " << c.out;
}

TEST(Log, JsonKeepsUtf8AndEscapesC1AsCodePoint) {
  Capture c;
  set_format(Format::Json);
  info("t").kv("utf8", "jos\xc3\xa9").kv("c1", "a\xc2\x85" "b");
  EXPECT_NE(c.out.find("\"utf8\":\"jos\xc3\xa9\""), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("\"c1\":\"a\\u0085b\""), std::string::npos) << c.out;
}

TEST(Log, LongValuesAreCut) {
  Capture c;
  info("t").kv("user", std::string(12288, 'a'));
  EXPECT_LT(c.out.size(), 1200u);
  EXPECT_NE(c.out.find("...\""), std::string::npos);
}

TEST(Log, LevelFilter) {
  Capture c;
  debug("hidden");
  EXPECT_TRUE(c.out.empty());
}

}  // namespace
}  // namespace volley::log
