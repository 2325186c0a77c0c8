// libFuzzer target: TLSA responses read from raw DNS messages (DANE) over
// arbitrary bytes. No crash, hang or read out of bounds; the bounds hold
// (at most limits::kMaxTlsaRecords records of at most kMaxTlsaDataBytes);
// Ok always carries records, anything else none.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "delivery/dns_wire.hpp"
#include "delivery/limits.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace volley::delivery;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const TlsaAnswer a = parse_tlsa_response(in);
  if (a.records.size() > limits::kMaxTlsaRecords) std::abort();
  for (const auto& r : a.records) {
    if (r.data.size() > limits::kMaxTlsaDataBytes) std::abort();
    (void)tlsa_usable(r);
  }
  if ((a.status == DnsStatus::Ok) != !a.records.empty()) std::abort();
  ResponseHeader h;
  (void)parse_response_header(in, h);
  return 0;
}
