#include "delivery/dns_wire.hpp"

#include <cstdint>
#include <optional>

#include "delivery/limits.hpp"

namespace volley::delivery {
namespace {

constexpr size_t kHeaderBytes = 12;

uint16_t u16(std::string_view m, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(m[at]) << 8) | static_cast<uint8_t>(m[at + 1]));
}

// The offset just past the (possibly compressed) name at `at`, or nullopt.
std::optional<size_t> skip_name(std::string_view m, size_t at) {
  for (size_t labels = 0; labels < 128; ++labels) {
    if (at >= m.size()) return std::nullopt;
    const uint8_t len = static_cast<uint8_t>(m[at]);
    if (len == 0) return at + 1;
    if ((len & 0xC0) == 0xC0) return at + 2 <= m.size() ? std::optional<size_t>(at + 2) : std::nullopt;
    if ((len & 0xC0) != 0) return std::nullopt;  // obsolete label types
    at += 1 + len;
  }
  return std::nullopt;
}

TlsaAnswer temp(std::string detail) {
  TlsaAnswer a;
  a.status = DnsStatus::TempFail;
  a.detail = std::move(detail);
  return a;
}

}  // namespace

bool parse_response_header(std::string_view msg, ResponseHeader& out) {
  if (msg.size() < kHeaderBytes) return false;
  const auto flags1 = static_cast<uint8_t>(msg[2]);
  const auto flags2 = static_cast<uint8_t>(msg[3]);
  if (!(flags1 & 0x80)) return false;  // QR: not a response
  out.truncated = (flags1 & 0x02) != 0;
  out.ad = (flags2 & 0x20) != 0;
  out.rcode = flags2 & 0x0F;
  out.answers = u16(msg, 6);
  return true;
}

TlsaAnswer parse_tlsa_response(std::string_view msg) {
  ResponseHeader h;
  if (!parse_response_header(msg, h)) return temp("malformed DNS response");
  if (h.rcode == 3) {
    TlsaAnswer a;
    a.status = DnsStatus::NxDomain;
    a.secure = h.ad;
    a.detail = "NXDOMAIN";
    return a;
  }
  if (h.rcode == 2) return temp("SERVFAIL");
  if (h.rcode != 0) return temp("RCODE " + std::to_string(h.rcode));
  if (h.truncated) return temp("truncated DNS response");
  size_t at = kHeaderBytes;
  const unsigned questions = u16(msg, 4);
  if (questions > 1) return temp("malformed DNS response");
  for (unsigned i = 0; i < questions; ++i) {
    auto next = skip_name(msg, at);
    if (!next || *next + 4 > msg.size()) return temp("malformed DNS response");
    at = *next + 4;
  }
  TlsaAnswer a;
  a.secure = h.ad;
  for (unsigned i = 0; i < h.answers; ++i) {
    auto next = skip_name(msg, at);
    if (!next || *next + 10 > msg.size()) return temp("malformed DNS response");
    at = *next;
    const uint16_t type = u16(msg, at);
    const uint16_t rdlength = u16(msg, at + 8);
    at += 10;
    if (at + rdlength > msg.size()) return temp("malformed DNS response");
    std::string_view rdata = msg.substr(at, rdlength);
    at += rdlength;
    if (type != kDnsTypeTlsa) continue;
    if (rdata.size() < 3) return temp("malformed TLSA record");
    if (rdata.size() - 3 > limits::kMaxTlsaDataBytes) return temp("TLSA record too large");
    if (a.records.size() >= limits::kMaxTlsaRecords) return temp("too many TLSA records");
    TlsaRecord r;
    r.usage = static_cast<uint8_t>(rdata[0]);
    r.selector = static_cast<uint8_t>(rdata[1]);
    r.mtype = static_cast<uint8_t>(rdata[2]);
    r.data = std::string(rdata.substr(3));
    a.records.push_back(std::move(r));
  }
  a.status = a.records.empty() ? DnsStatus::NoRecords : DnsStatus::Ok;
  a.detail = a.records.empty() ? "no TLSA records" : "";
  return a;
}

}  // namespace volley::delivery
