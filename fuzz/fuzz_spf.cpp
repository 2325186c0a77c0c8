// libFuzzer target: the SPF record parser, the macro checker and expander,
// and the evaluator itself over a zone in which every TXT answer is the
// input (so includes and redirects recurse into it). Properties: nothing
// crashes; an expansion of a checked macro string succeeds unless it is
// too long; a parsed record's terms are what was written; the evaluator
// ends within limits::kMaxDnsQueries questions with a result.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "spf/evaluator.hpp"
#include "spf/limits.hpp"
#include "spf/macro.hpp"
#include "spf/record.hpp"

#include "fuzz_check.hpp"

namespace {

using namespace volley;
using namespace volley::spf;

void check_record(std::string_view in) {
  auto r = parse_record(in);
  if (!r.ok()) {
    CHECK(!r.error().message.empty());
    return;
  }
  CHECK(is_spf_record(in) && in.size() <= limits::kMaxRecordBytes);
  CHECK(r->mechanisms.size() <= limits::kMaxTerms);
  for (const auto& m : r->mechanisms) {
    CHECK(!m.text.empty() && in.find(m.text) != std::string_view::npos);
    CHECK(m.cidr4 <= 32 && m.cidr6 <= 128);
    if (!m.domain_spec.empty()) CHECK(check_domain_spec(m.domain_spec).ok());
  }
}

void check_macros(std::string_view in) {
  MacroValues v;
  v.sender = "strong-bad@email.example.com";
  v.local = "strong-bad";
  v.sender_domain = v.domain = "email.example.com";
  v.ip = "192.0.2.3";
  v.ip_version = "in-addr";
  v.helo = "mx.example.org";
  v.client_ip = "192.0.2.3";
  v.receiver = "receiver.example.net";
  v.timestamp = "1234567890";
  for (bool explanation : {false, true}) {
    if (!check_macro_string(in, explanation).ok()) continue;
    auto out = expand_macros(in, v);
    CHECK(out.ok() || out.error().message.find("too long") != std::string::npos);
    if (out.ok()) {
      CHECK(out->size() <= limits::kMaxExpansionBytes);
      const std::string name = domain_to_query(*out);
      CHECK(name.size() <= limits::kMaxDomainName || name.find('.') == std::string::npos);
    }
  }
  if (check_domain_spec(in).ok()) CHECK(check_macro_string(in, false).ok());
}

void check_evaluation(std::string_view in) {
  SpfEvaluator e({*net::IpAddress::parse("192.0.2.3"), "mx.example.org", "user@example.com", "r.example"});
  for (size_t asked = 0;; ++asked) {
    CHECK(asked <= limits::kMaxDnsQueries);
    auto step = e.next();
    if (std::holds_alternative<SpfResult>(step)) return;
    const DnsQuestion q = std::get<DnsQuestion>(step);
    DnsReply reply{delivery::DnsStatus::Ok, {}};
    switch (q.type) {
      case DnsType::Txt: reply.records = {std::string(in)}; break;
      case DnsType::A: reply.records = {"192.0.2." + std::to_string(q.name.size() % 8)}; break;
      case DnsType::Aaaa: reply.records = {"2001:db8::1"}; break;
      case DnsType::Mx: reply.records = {"mx." + q.name}; break;
      case DnsType::Ptr: reply.records = {"mx.example.org"}; break;
    }
    if (q.name.size() % 5 == 0) reply = {delivery::DnsStatus::NxDomain, {}};
    e.answer(q, reply);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_record(in);
  check_macros(in);
  if (is_spf_record(in)) check_evaluation(in);
  return 0;
}
