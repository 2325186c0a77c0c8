// TLSA responses read from raw DNS messages (RFC 1035 4.1, RFC 6698): the AD
// bit, the RCODE, records among others, and hostile messages (truncated,
// oversized, too many records) as TempFail, never a crash.
#include "delivery/dns_wire.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "delivery/limits.hpp"

namespace volley::delivery {
namespace {

std::string u16(unsigned v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)}; }

std::string name(std::initializer_list<const char*> labels) {
  std::string out;
  for (const char* l : labels) {
    out += static_cast<char>(std::strlen(l));  // appended piecewise: GCC 12 -O3 reports a false -Wrestrict on char + string
    out += l;
  }
  out += '\0';
  return out;
}

struct Rr {
  std::string owner;  // wire form (may be a pointer "\xC0\x0C")
  unsigned type;
  std::string rdata;
};

std::string message(int rcode, bool ad, const std::vector<Rr>& answers, bool tc = false) {
  std::string m = u16(0x1234);
  m += static_cast<char>(0x81 | (tc ? 0x02 : 0));  // QR, RD
  m += static_cast<char>(0x80 | (ad ? 0x20 : 0) | rcode);
  m += u16(1) + u16(static_cast<unsigned>(answers.size())) + u16(0) + u16(0);
  m += name({"_25", "_tcp", "mx", "example", "com"}) + u16(52) + u16(1);
  for (const auto& rr : answers) m += rr.owner + u16(rr.type) + u16(1) + u16(0) + u16(300) + u16(rr.rdata.size()) + rr.rdata;
  return m;
}

std::string tlsa_rdata(int usage, int selector, int mtype, const std::string& data) {
  return std::string{static_cast<char>(usage), static_cast<char>(selector), static_cast<char>(mtype)} + data;
}

const std::string kPtr("\xC0\x0C", 2);

TEST(DnsWire, SecureTlsaRecords) {
  const std::string hash(32, '\x5a');
  auto a = parse_tlsa_response(message(0, true, {{kPtr, 52, tlsa_rdata(3, 1, 1, hash)}, {kPtr, 52, tlsa_rdata(2, 0, 1, hash)}}));
  EXPECT_EQ(a.status, DnsStatus::Ok);
  EXPECT_TRUE(a.secure);
  ASSERT_EQ(a.records.size(), 2u);
  EXPECT_EQ(a.records[0], (TlsaRecord{3, 1, 1, hash}));
  EXPECT_EQ(a.records[1].usage, 2);
}

TEST(DnsWire, WithoutAdIsInsecure) {
  auto a = parse_tlsa_response(message(0, false, {{kPtr, 52, tlsa_rdata(3, 1, 1, std::string(32, 'x'))}}));
  EXPECT_EQ(a.status, DnsStatus::Ok);
  EXPECT_FALSE(a.secure);
}

TEST(DnsWire, CnameBeforeTheRecordsIsSkipped) {
  auto a = parse_tlsa_response(message(
      0, true, {{kPtr, 5, name({"tlsa", "example", "net"})}, {name({"tlsa", "example", "net"}), 52, tlsa_rdata(3, 1, 1, "ab")}}));
  EXPECT_EQ(a.status, DnsStatus::Ok);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].data, "ab");
}

struct StatusRow {
  const char* name;
  std::string msg;
  DnsStatus status;
};

class TlsaStatus : public ::testing::TestWithParam<StatusRow> {};

TEST_P(TlsaStatus, Mapped) {
  auto a = parse_tlsa_response(GetParam().msg);
  EXPECT_EQ(a.status, GetParam().status) << a.detail;
  if (a.status != DnsStatus::Ok) {
    EXPECT_TRUE(a.records.empty());
  }
}

// One byte changed (not string::replace: GCC 12 -O3 reports a false -Wrestrict on it).
std::string with_byte(std::string m, size_t at, char b) {
  m[at] = b;
  return m;
}

std::vector<Rr> many(size_t n) { return std::vector<Rr>(n, Rr{kPtr, 52, tlsa_rdata(3, 1, 1, std::string(32, 'x'))}); }

INSTANTIATE_TEST_SUITE_P(
    Rows, TlsaStatus,
    ::testing::Values(
        StatusRow{"NoData", message(0, true, {}), DnsStatus::NoRecords},
        StatusRow{"OnlyOtherTypes", message(0, true, {{kPtr, 5, name({"x", "net"})}}), DnsStatus::NoRecords},
        StatusRow{"NxDomain", message(3, true, {}), DnsStatus::NxDomain},
        StatusRow{"ServfailIsBogusOrBroken", message(2, false, {}), DnsStatus::TempFail},
        StatusRow{"Refused", message(5, false, {}), DnsStatus::TempFail},
        StatusRow{"Truncated", message(0, true, {}, true), DnsStatus::TempFail},
        StatusRow{"ShortHeader", std::string("\x12\x34\x81", 3), DnsStatus::TempFail},
        StatusRow{"NotAResponse", std::string(12, '\0'), DnsStatus::TempFail},
        StatusRow{"RdataPastTheEnd", message(0, true, {{kPtr, 52, tlsa_rdata(3, 1, 1, "abc")}}).substr(0, 57),
                  DnsStatus::TempFail},
        StatusRow{"RdataTooShort", message(0, true, {{kPtr, 52, std::string("\x03\x01", 2)}}), DnsStatus::TempFail},
        StatusRow{"DataTooLarge",
                  message(0, true, {{kPtr, 52, tlsa_rdata(2, 0, 0, std::string(limits::kMaxTlsaDataBytes + 1, 'x'))}}),
                  DnsStatus::TempFail},
        StatusRow{"AtTheRecordLimit", message(0, true, many(limits::kMaxTlsaRecords)), DnsStatus::Ok},
        StatusRow{"TooManyRecords", message(0, true, many(limits::kMaxTlsaRecords + 1)), DnsStatus::TempFail},
        StatusRow{"BadLabelType", message(0, true, {{std::string("\x80", 1), 52, tlsa_rdata(3, 1, 1, "x")}}),
                  DnsStatus::TempFail},
        StatusRow{"AnswerCountLies", with_byte(message(0, true, {}), 7, '\x05'), DnsStatus::TempFail}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DnsWire, HeaderFlags) {
  ResponseHeader h;
  ASSERT_TRUE(parse_response_header(message(3, true, {}), h));
  EXPECT_EQ(h.rcode, 3);
  EXPECT_TRUE(h.ad);
  EXPECT_FALSE(h.truncated);
  EXPECT_EQ(h.answers, 0u);
}

// Every prefix of a valid message: an answer, never a crash or a read past the end.
TEST(DnsWire, EveryPrefixIsSafe) {
  const std::string m = message(0, true, {{kPtr, 52, tlsa_rdata(3, 1, 1, std::string(32, 'x'))}});
  for (size_t n = 0; n < m.size(); ++n) EXPECT_EQ(parse_tlsa_response(m.substr(0, n)).status, DnsStatus::TempFail) << n;
  EXPECT_EQ(parse_tlsa_response(m).status, DnsStatus::Ok);
}

}  // namespace
}  // namespace volley::delivery
