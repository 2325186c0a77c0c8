#include "smtp/headers.hpp"

#include <gtest/gtest.h>

#include <string>

#include "util/strings.hpp"

namespace volley::smtp {
namespace {

struct HeaderCase {
  std::string name;
  std::string message;
  size_t block_end;
  bool has_message_id;
  size_t received;
};

void PrintTo(const HeaderCase& c, std::ostream* os) { *os << c.name; }

class Headers : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(Headers, BlockEnd) { EXPECT_EQ(header_block_end(GetParam().message), GetParam().block_end); }
TEST_P(Headers, HasMessageId) { EXPECT_EQ(has_header(GetParam().message, "Message-ID"), GetParam().has_message_id); }
TEST_P(Headers, CountReceived) { EXPECT_EQ(count_received(GetParam().message), GetParam().received); }

const std::string kTrace =
    "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "received: from c\r\n"
    "\tby d; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "RECEIVED : from e\r\n"
    "Received-SPF: pass\r\n"
    "X-Received: by f\r\n"
    "Message-Id: <1@x>\r\n"
    "Subject: hi\r\n"
    "\r\n"
    "Received: in the body\r\n";

INSTANTIATE_TEST_SUITE_P(
    Table, Headers,
    ::testing::Values(
        HeaderCase{"Simple", "Subject: x\r\n\r\nbody", 14, false, 0},
        HeaderCase{"AllHeaders", "Subject: x\r\nMessage-ID: <a@b>\r\n", 31, true, 0},
        HeaderCase{"Empty", "", 0, false, 0},
        HeaderCase{"NoHeaders", "just a body line\r\n\r\nMessage-ID: <a@b>\r\n", 0, false, 0},
        HeaderCase{"EmptyFirstLine", "\r\nMessage-ID: <a@b>\r\n", 0, false, 0},
        HeaderCase{"MboxFromLine", "From someone Mon Jan 1\r\nMessage-ID: <a@b>\r\n", 0, false, 0},
        HeaderCase{"ColonFirst", ":x\r\n\r\n", 0, false, 0},
        HeaderCase{"SpaceInName", "Sub ject: x\r\n\r\n", 0, false, 0},
        HeaderCase{"ObsoleteSpaceBeforeColon", "Message-ID : <a@b>\r\n\r\nx", 22, true, 0},
        HeaderCase{"CaseInsensitive", "message-id: <a@b>\r\n\r\n", 21, true, 0},
        HeaderCase{"EmptyValue", "Message-ID:\r\n\r\n", 15, true, 0},
        HeaderCase{"PrefixIsNotName", "Message-IDs: <a@b>\r\nX-Message-ID: <a@b>\r\n\r\n", 43, false, 0},
        HeaderCase{"FoldedLineIsNotField", "Subject: a\r\n Message-ID: <a@b>\r\n\r\n", 34, false, 0},
        HeaderCase{"TabFoldedLineIsNotField", "Subject: a\r\n\tReceived: x\r\n\r\n", 28, false, 0},
        HeaderCase{"BodyIsNotHeader", "Subject: a\r\n\r\nMessage-ID: <a@b>\r\nReceived: x\r\n", 14, false, 0},
        HeaderCase{"Trace", kTrace, kTrace.find("\r\n\r\n") + 4, true, 3},
        HeaderCase{"NoTrailingCrlf", "Received: x", 11, false, 1}));

TEST(Headers, OtherNames) {
  const std::string msg = "From: a@b\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nTo: c@d\r\n";
  EXPECT_TRUE(has_header(msg, "Date"));
  EXPECT_TRUE(has_header(msg, "from"));
  EXPECT_FALSE(has_header(msg, "To"));
  EXPECT_FALSE(has_header(msg, ""));
  EXPECT_FALSE(has_header(msg, "Dat"));
}

TEST(Headers, ManyReceivedLines) {
  std::string msg;
  for (int i = 0; i < 100; ++i) msg += "Received: hop " + std::to_string(i) + "\r\n";
  msg += "\r\nbody\r\n";
  EXPECT_EQ(count_received(msg), 100u);
}

}  // namespace
}  // namespace volley::smtp
