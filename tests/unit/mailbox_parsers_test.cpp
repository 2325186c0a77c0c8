// The mailbox store's pure parsers: Maildir file names, dovecot-uidlist and
// dovecot-keywords, table-driven, with lines as a real Dovecot 2.3 wrote them.
#include <gtest/gtest.h>

#include "mailbox/keywords.hpp"
#include "mailbox/maildir_name.hpp"
#include "mailbox/uidlist.hpp"

namespace volley::mailbox {
namespace {

struct NameCase {
  const char* name;
  const char* base;
  const char* flags;
  bool has_info;
  std::optional<uint64_t> size;
  std::optional<uint64_t> vsize;
};

TEST(MaildirName, Parses) {
  const NameCase cases[] = {
      {"1700000000.M1P2.host,S=25,W=27:2,S", "1700000000.M1P2.host,S=25,W=27", "S", true, 25, 27},
      {"1700000000.M1P2.host,S=25:2,", "1700000000.M1P2.host,S=25", "", true, 25, std::nullopt},
      {"1700000000.M1P2.host", "1700000000.M1P2.host", "", false, std::nullopt, std::nullopt},
      {"1700000000.M1P2.host:2,TSRFba", "1700000000.M1P2.host", "FRSTab", true, std::nullopt, std::nullopt},
      {"1.M1P2.a\\057b\\072c,S=9:2,S", "1.M1P2.a\\057b\\072c,S=9", "S", true, 9, std::nullopt},  // escaping kept
      {"1.M1.h,S=x,W=:2,SS", "1.M1.h,S=x,W=", "S", true, std::nullopt, std::nullopt},             // bad sizes ignored
      {"1.M1.h,S=99999999999999999999", "1.M1.h,S=99999999999999999999", "", false, std::nullopt, std::nullopt},
      {"S=5,W=6", "S=5,W=6", "", false, std::nullopt, 6},  // the first part is the unique name, not a field
      {"1.M1.h:1,experimental", "1.M1.h", "", false, std::nullopt, std::nullopt},
      {"1.M1.h:2,S1!-", "1.M1.h", "S", true, std::nullopt, std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto n = parse_maildir_name(c.name);
    EXPECT_EQ(n.base, c.base);
    EXPECT_EQ(n.flags, c.flags);
    EXPECT_EQ(n.has_info, c.has_info);
    EXPECT_EQ(n.size, c.size);
    EXPECT_EQ(n.vsize, c.vsize);
    EXPECT_EQ(maildir_base(c.name), c.base);
  }
}

TEST(MaildirName, MessageFileNames) {
  EXPECT_TRUE(is_message_file_name("1.M1.h:2,S"));
  for (const char* bad : {"", ".", "..", ".hidden", "a/b", "a\nb"}) EXPECT_FALSE(is_message_file_name(bad)) << bad;
  EXPECT_FALSE(is_message_file_name(std::string(256, 'a')));
}

TEST(MaildirName, DeliveryTimeOrderComparesSecondsAndMicrosecondsAsNumbers) {
  struct Case {
    const char* a;
    const char* b;
    bool a_first;
  };
  const Case cases[] = {
      {"1700000000.M99999P1Q1.h", "1700000000.M100000P1Q2.h", true},  // a string comparison says the opposite
      {"1700000000.M100000P1Q2.h", "1700000000.M99999P1Q1.h", false},
      {"999.M1P1.h", "1000.M1P1.h", true},
      {"1000.M5P1.h", "1000.M5P2.h", true},   // equal times: by bytes
      {"1000.M5P2.h", "1000.M5P2.h", false},  // irreflexive
      {"1000.P5.h", "1000.M5P2.h", false},    // no .M in one: by bytes ('P' > 'M')
      {"zz-dropped", "1000.M1P1.h", false},   // not a delivery name: by bytes
      {"1000.M1P1.h", "zz-dropped", true},
  };
  for (const auto& c : cases) EXPECT_EQ(maildir_name_before(c.a, c.b), c.a_first) << c.a << " vs " << c.b;
}

TEST(MaildirName, FlagsAreSortedAndUnique) {
  EXPECT_EQ(maildir_name_with_flags("b", "SRSa"), "b:2,RSa");
  EXPECT_EQ(maildir_name_with_flags("b", ""), "b:2,");
  EXPECT_EQ(normalize_flags("zaTD"), "DTaz");
}

TEST(MaildirName, CrlfSizeCountsBareLineFeeds) {
  struct {
    std::vector<std::string> chunks;
    uint64_t want;
  } cases[] = {
      {{"a\nb\n"}, 6}, {{"a\r\nb\r\n"}, 6}, {{"a\r", "\nb"}, 4}, {{"\n\n"}, 4}, {{""}, 0}, {{"\r\r\n\n"}, 5},
  };
  for (const auto& c : cases) {
    bool prev_cr = false;
    uint64_t n = 0;
    for (const auto& chunk : c.chunks) n += crlf_size_of_chunk(chunk, prev_cr);
    EXPECT_EQ(n, c.want);
  }
}

// As a Dovecot 2.3 wrote it after a POP3 session on a mailbox with one
// delivered file (W cached) and one hand-dropped file.
constexpr const char* kDovecotUidlist =
    "3 V1700000123 N3 G0123456789abcdef0123456789abcdef\n"
    "1 :1700000000.M1P2.host,S=25,W=27\n"
    "2 W13 :hand-dropped\n";

TEST(Uidlist, ParsesDovecotVersion3AndRoundTrips) {
  auto list = parse_uidlist(kDovecotUidlist);
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->version, 3u);
  EXPECT_EQ(list->uidvalidity, 1700000123u);
  EXPECT_EQ(list->next_uid, 3u);
  EXPECT_EQ(list->guid, "0123456789abcdef0123456789abcdef");
  ASSERT_EQ(list->records.size(), 2u);
  EXPECT_EQ(list->records[0].uid, 1u);
  EXPECT_EQ(list->records[0].base, "1700000000.M1P2.host,S=25,W=27");
  EXPECT_EQ(list->records[1].field('W'), "13");
  EXPECT_EQ(serialize_uidlist(*list), kDovecotUidlist);
}

TEST(Uidlist, KeepsUnknownFields) {
  const char* text = "3 V5 N9 G0123456789abcdef0123456789abcdef Pxyz\n7 S10 W12 O3 :name\n";
  auto list = parse_uidlist(text);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->header_ext, std::vector<std::string>{"Pxyz"});
  EXPECT_EQ(serialize_uidlist(*list), text);
}

TEST(Uidlist, SkipsMalformedRecords) {
  std::string text = "3 V5 N20\n";
  text += "x :nouid\n";        // no UID
  text += "0 :zero\n";         // UID 0
  text += "3 :ok3\n";
  text += "2 :descending\n";   // not ascending
  text += "4 :a/b\n";          // '/' in the name
  text += "5 W1 :\n";          // no name
  text += "6 " + std::string(kMaxUidlistLine, 'x') + "\n";  // too long
  text += "7 w1 :lower-case-ext-dropped\n";
  text += "\n";
  text += "8 :ok8";           // no final newline
  auto list = parse_uidlist(text);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->records.size(), 3u);
  EXPECT_EQ(list->records[0].base, "ok3");
  EXPECT_EQ(list->records[1].base, "lower-case-ext-dropped");
  EXPECT_TRUE(list->records[1].ext.empty());
  EXPECT_EQ(list->records[2].base, "ok8");
  EXPECT_EQ(list->skipped_lines, 6u);
  EXPECT_TRUE(list->guid.empty());
}

TEST(Uidlist, NextUidNeverBelowARecordedUid) {
  auto list = parse_uidlist("3 V5 N2\n9 :x\n");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->next_uid, 10u);
}

TEST(Uidlist, ReadsVersion1) {
  auto list = parse_uidlist("1 1234 5\n1 a:2,S\n4 b\n");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->version, 1u);
  EXPECT_EQ(list->uidvalidity, 1234u);
  ASSERT_EQ(list->records.size(), 2u);
  EXPECT_EQ(list->records[1].base, "b");
  EXPECT_EQ(serialize_uidlist(*list), "3 V1234 N5\n1 :a\n4 :b\n");
}

TEST(Uidlist, RefusesBadHeaders) {
  for (const char* bad : {"", "\n", "2 1 2\n", "3\n", "3 V0 N1\n", "3 Vx N1\n", "3 V1 N99999999999\n",
                          "3 V1 N1 Gxyz\n", "1 5\n", "9 V1 N1\n", "x V1 N1\n"}) {
    auto list = parse_uidlist(bad);
    EXPECT_FALSE(list) << bad;
    if (!list) {
      EXPECT_EQ(list.error().code, ErrorCode::Invalid);
    }
  }
}

TEST(Keywords, ParseAndSerialize) {
  auto k = parse_keywords("0 $Forwarded\n1 Junk\nx bad\n30 toohigh\n2 \n3 two words\n1 dup\n4 NonJunk");
  ASSERT_EQ(k.size(), 3u);
  EXPECT_EQ(k[0], "$Forwarded");
  EXPECT_EQ(k[1], "Junk");
  EXPECT_EQ(k[4], "NonJunk");
  EXPECT_EQ(serialize_keywords(k), "0 $Forwarded\n1 Junk\n4 NonJunk\n");
  EXPECT_EQ(keyword_letter(1), 'b');
}

}  // namespace
}  // namespace volley::mailbox
