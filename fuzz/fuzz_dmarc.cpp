// libFuzzer target: the DMARC record parser, the From-domain reader, the
// Authentication-Results remover and the MTA-STS record and policy parsers,
// over arbitrary bytes. None may crash, hang or read out of bounds; the
// remover must never grow its input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dmarc/dmarc_record.hpp"
#include "dmarc/from_domain.hpp"
#include "inbound/authentication_results.hpp"
#include "mta_sts/policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)volley::dmarc::parse_dmarc_record(in);
  (void)volley::dmarc::from_domain(in);
  auto out = volley::inbound::remove_authentication_results(in, "mx.volley.test");
  if (out.size() > in.size()) std::abort();
  (void)volley::inbound::authserv_id_of(in);
  (void)volley::mta_sts::parse_policy(in);
  (void)volley::mta_sts::parse_sts_record(in);
  (void)volley::mta_sts::mx_matches(in, in);
  return 0;
}
