// mailbox::quota_usage: the maildirsize parser (table-driven), its writer,
// the directory scan and the recalculation rules, against real files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "mailbox/quota_usage.hpp"
#include "temp_dir.hpp"
#include "util/file_io.hpp"

using namespace volley;
using namespace volley::mailbox;

namespace {

struct ParseCase {
  const char* name;
  std::string bytes;
  bool ok;
  QuotaLimits limits;
  QuotaUsage usage;
};

class ParseMaildirSize : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseMaildirSize, Table) {
  const auto& c = GetParam();
  auto r = parse_maildirsize(c.bytes);
  ASSERT_EQ(r.ok(), c.ok) << c.name;
  if (!c.ok) {
    EXPECT_EQ(r.error().code, ErrorCode::Invalid);
    return;
  }
  EXPECT_EQ(r->limits, c.limits) << c.name;
  EXPECT_EQ(r->usage, c.usage) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseMaildirSize,
    ::testing::Values(
        ParseCase{"dovecot_no_limits", "0S\n0 0\n", true, {0, 0}, {0, 0}},
        ParseCase{"both_limits_and_deltas", "1048576S,1000C\n123456 42\n4096 1\n-4096 -1\n", true, {1048576, 1000},
                  {123456, 42}},
        ParseCase{"count_only", "100C\n5 5\n", true, {0, 100}, {5, 5}},
        ParseCase{"courier_padding", "10000S\n  1234   1\n 12  1 \n", true, {10000, 0}, {1246, 2}},
        ParseCase{"empty_limits_line", "\n10 1\n", true, {0, 0}, {10, 1}},
        ParseCase{"unfinished_last_line_ignored", "0S\n10 1\n20 2", true, {0, 0}, {10, 1}},
        ParseCase{"empty_file", "", false, {}, {}},
        ParseCase{"limits_only", "0S\n", false, {}, {}},
        ParseCase{"no_newline", "0S", false, {}, {}},
        ParseCase{"bad_limit_kind", "10X\n0 0\n", false, {}, {}},
        ParseCase{"bad_limit_digits", "1a0S\n0 0\n", false, {}, {}},
        ParseCase{"bad_delta", "0S\n10 x\n", false, {}, {}},
        ParseCase{"one_number", "0S\n10\n", false, {}, {}},
        ParseCase{"three_numbers", "0S\n10 1 2\n", false, {}, {}},
        ParseCase{"negative_total", "0S\n10 1\n-20 -1\n", false, {}, {}},
        ParseCase{"nul_byte", std::string("0S\n10\0 1\n", 9), false, {}, {}},
        ParseCase{"huge_number", "0S\n9999999999999999999999 1\n", false, {}, {}},
        ParseCase{"crlf", "0S\r\n10 1\r\n", false, {}, {}},
        // Found by fuzz_quota_usage: totals past 18 digits could not be
        // written back as one line (and enough such lines overflowed int64).
        ParseCase{"total_past_18_digits",
                  "100C\n22634 721263519263496961\n969649 721263519263496961\n", false, {}, {}},
        ParseCase{"total_at_18_digits", "0S\n999999999999999998 1\n1 1\n", true, {0, 0}, {999999999999999999, 2}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParseMaildirSize, TooLargeMustBeRecalculated) {
  std::string s = "0S\n0 0\n";
  while (s.size() < kMaildirSizeMaxBytes) s += "1 1\n";
  EXPECT_FALSE(parse_maildirsize(s).ok());
}

TEST(FormatMaildirSize, WhatDovecotWrites) {
  EXPECT_EQ(format_maildirsize({0, 0}, {0, 0}), "0S\n0 0\n");
  EXPECT_EQ(format_maildirsize({524288000, 0}, {1234, 5}), "524288000S\n1234 5\n");
  EXPECT_EQ(format_maildirsize({0, 10}, {1, 1}), "10C\n1 1\n");
  EXPECT_EQ(format_maildirsize({100, 10}, {1, 1}), "100S,10C\n1 1\n");
  EXPECT_EQ(format_quota_delta(-4096, -1), "-4096 -1\n");
}

TEST(SizeFromFileName, SEqualsFields) {
  EXPECT_EQ(size_from_file_name("1700000000.M1P2.host,S=1234,W=1260:2,S"), 1234u);
  EXPECT_EQ(size_from_file_name("1700000000.M1P2.host,S=25"), 25u);
  EXPECT_EQ(size_from_file_name("1700000000.M1P2.host,S=25:2,"), 25u);
  EXPECT_FALSE(size_from_file_name("1700000000.M1P2.host"));
  EXPECT_FALSE(size_from_file_name("1700000000.M1P2.host,S=:2,"));
  EXPECT_FALSE(size_from_file_name("1700000000.M1P2.host,S=12x"));
}

// ---- files ---------------------------------------------------------------

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

struct QuotaFiles : ::testing::Test {
  test::TempDir tmp{"quota"};
  std::string box = tmp.path + "/box";

  void SetUp() override {
    for (const char* d : {"", "/new", "/cur", "/tmp", "/.Junk", "/.Junk/new", "/.Junk/cur", "/.Junk/tmp"})
      ::mkdir((box + d).c_str(), 0700);
  }
  std::string size_file() const { return box + "/maildirsize"; }
  std::string read_size_file() const {
    std::string s;
    (void)read_whole_file(size_file(), s);
    return s;
  }
};

TEST_F(QuotaFiles, ScanCountsInboxAndFoldersFromNamesOrStat) {
  write_file(box + "/new/1.M1P1.h,S=100", "ignored: the name says 100");
  write_file(box + "/cur/2.M1P1.h,S=200,W=210:2,S", "x");
  write_file(box + "/cur/3.dropped-by-hand", std::string(37, 'x'));  // no S=: stat
  write_file(box + "/.Junk/new/4.M1P1.h,S=50", "x");
  write_file(box + "/tmp/5.M1P1.h,S=999", "x");  // tmp/ is not mail yet
  auto u = scan_usage(box);
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->bytes, 100 + 200 + 37 + 50);
  EXPECT_EQ(u->count, 4);
}

TEST_F(QuotaFiles, MissingMailboxIsEmpty) {
  auto u = read_usage(tmp.path + "/nobody", {1000, 0});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->bytes, 0);
  EXPECT_FALSE(peek_usage(tmp.path + "/nobody"));
}

TEST_F(QuotaFiles, MissingFileIsRecalculatedAndWritten) {
  write_file(box + "/new/1.M1P1.h,S=100", "x");
  EXPECT_FALSE(peek_usage(box)) << "peek never scans";
  auto u = read_usage(box, {1000, 0});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(*u, (QuotaUsage{100, 1}));
  EXPECT_EQ(read_size_file(), "1000S\n100 1\n");
  EXPECT_EQ(peek_usage(box), (QuotaUsage{100, 1}));
}

TEST_F(QuotaFiles, DeltasAreAppendedNotRescanned) {
  write_file(size_file(), "1000S\n100 1\n");
  ASSERT_TRUE(add_usage(box, 50, 1, {1000, 0}).ok());
  ASSERT_TRUE(add_usage(box, -100, -1, {1000, 0}).ok());
  EXPECT_EQ(read_size_file(), "1000S\n100 1\n50 1\n-100 -1\n");
  // No files in the mailbox: a rescan would say 0; the file is trusted.
  EXPECT_EQ(*read_usage(box, {1000, 0}), (QuotaUsage{50, 1}));
}

TEST_F(QuotaFiles, AddWithoutFileRecalculates) {
  write_file(box + "/new/1.M1P1.h,S=70", "x");  // the message just delivered
  ASSERT_TRUE(add_usage(box, 70, 1, {0, 0}).ok());
  EXPECT_EQ(read_size_file(), "0S\n70 1\n") << "the scan already counts it: no delta on top";
}

TEST_F(QuotaFiles, GarbageOrOtherLimitsAreRecalculated) {
  write_file(box + "/new/1.M1P1.h,S=10", "x");
  write_file(size_file(), "garbage\n");
  EXPECT_EQ(*read_usage(box, {1000, 0}), (QuotaUsage{10, 1}));
  write_file(size_file(), "5S\n10 1\n");
  EXPECT_EQ(*read_usage(box, {1000, 0}), (QuotaUsage{10, 1}));
  EXPECT_EQ(read_size_file(), "1000S\n10 1\n") << "rewritten with the current limits";
}

TEST_F(QuotaFiles, OverQuotaWithDeltasIsRecountedBeforeItRefuses) {
  write_file(box + "/new/1.M1P1.h,S=10", "x");
  write_file(size_file(), "100S\n10 1\n500 1\n");  // drifted: says 510
  EXPECT_EQ(*read_usage(box, {100, 0}), (QuotaUsage{10, 1}));
  write_file(size_file(), "100S\n510 1\n");  // one summary line: trusted as written
  EXPECT_EQ(*read_usage(box, {100, 0}), (QuotaUsage{510, 1}));
}

TEST_F(QuotaFiles, FileNeverGrowsPastTheReadersLimit) {
  write_file(size_file(), "0S\n0 0\n");
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(add_usage(box, 1, 0, {0, 0}).ok());
  EXPECT_LT(read_size_file().size(), kMaildirSizeMaxBytes);
  EXPECT_TRUE(parse_maildirsize(read_size_file()).ok());
}

}  // namespace
