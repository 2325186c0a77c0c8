// The SPF evaluator against the RFC 7208 test suite that Debian's
// python3-spf ships (/usr/share/doc/python3-spf/rfc7208-tests.yml.gz): every
// scenario, every test. spf_suite_to_json.py turns the YAML into JSON with
// the system Python; each question the evaluator asks is answered from the
// scenario's zone the way python3-spf's own runner (testspf.py) answers it:
// TIMEOUT is a temporary error, a name not in the zone is NXDOMAIN (a name
// under "error." a temporary error), CNAMEs are followed. A test passes
// when the result is one of those the suite lists (explanations are not
// checked: Volley does not evaluate exp=).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "spf/evaluator.hpp"
#include "spf/limits.hpp"
#include "util/strings.hpp"

namespace volley::spf {
namespace {

using delivery::DnsStatus;
using nlohmann::json;

constexpr const char* kSuite = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz";

bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// The suite as JSON, or "" if the conversion failed.
std::string load_suite_json() {
  const std::string command = concat("/usr/bin/python3 ", VOLLEY_SPF_SUITE_SCRIPT, " ", kSuite);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "";
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  return ::pclose(pipe) == 0 ? out : "";
}

std::string zone_name(std::string name) {
  name = to_lower(name);
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

// testspf.py's DNSLookup, as a DnsReply.
DnsReply lookup(const json& zone, DnsType type, const std::string& qname, int cname_depth = 0) {
  const std::string name = zone_name(qname);
  auto it = zone.find(name);
  if (it == zone.end())
    return {name.starts_with("error.") ? DnsStatus::TempFail : DnsStatus::NxDomain, {}};
  const std::string want = dns_type_name(type);
  DnsReply reply{DnsStatus::Ok, {}};
  std::vector<std::pair<int64_t, std::string>> mx;
  bool timeout = true;
  for (const auto& entry : *it) {
    const std::string rtype = entry[0].get<std::string>();
    const json& value = entry[1];
    if (rtype == "TIMEOUT") {
      if (timeout) return {DnsStatus::TempFail, {}};
      break;
    }
    if (rtype == want) timeout = false;
    if (value.is_string() && value.get<std::string>() == "TIMEOUT") {
      if (rtype == want) return {DnsStatus::TempFail, {}};
      continue;
    }
    if (rtype == "CNAME" && cname_depth < 10) {
      DnsReply target = lookup(zone, type, value.get<std::string>(), cname_depth + 1);
      if (target.status == DnsStatus::TempFail) return target;
      reply.records.insert(reply.records.end(), target.records.begin(), target.records.end());
      continue;
    }
    if (rtype != want) continue;
    if (type == DnsType::Txt) {
      std::string joined;
      for (const auto& s : value) joined += s.get<std::string>();
      reply.records.push_back(joined);
    } else if (type == DnsType::Mx) {
      mx.emplace_back(value[0].get<int64_t>(), zone_name(value[1].get<std::string>()));
    } else {
      reply.records.push_back(value.get<std::string>());
    }
  }
  std::stable_sort(mx.begin(), mx.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [pref, host] : mx) reply.records.push_back(host);
  if (reply.records.empty()) reply.status = DnsStatus::NoRecords;
  return reply;
}

SpfResult evaluate(const json& zone, const json& test, size_t& questions) {
  SpfInputs in;
  auto ip = net::IpAddress::parse(test["host"].get<std::string>());
  EXPECT_TRUE(ip.has_value()) << test["host"];
  if (ip) in.client = *ip;
  in.helo = test["helo"].get<std::string>();
  in.mail_from = test["mailfrom"].get<std::string>();
  in.receiver = "receiver.test";
  SpfEvaluator evaluator(in);
  questions = 0;
  while (true) {
    auto step = evaluator.next();
    if (auto* result = std::get_if<SpfResult>(&step)) return *result;
    const auto& q = std::get<DnsQuestion>(step);
    // The evaluator never asks more than its own bound, nor twice.
    EXPECT_LE(++questions, limits::kMaxDnsQueries);
    if (questions > limits::kMaxDnsQueries) return {};
    evaluator.answer(q, lookup(zone, q.type, q.name));
  }
}

TEST(SpfSuite, Rfc7208TestSuitePasses) {
  if (!std::filesystem::exists(kSuite)) {
    if (under_ci()) FAIL() << kSuite << " is missing: apt-get install python3-spf (scripts/install-deps.sh --test)";
    GTEST_SKIP() << kSuite << " is missing (install python3-spf)";
  }
  const std::string text = load_suite_json();
  ASSERT_FALSE(text.empty()) << "converting " << kSuite << " failed (needs /usr/bin/python3 with python3-yaml)";
  const json suite = json::parse(text);
  size_t total = 0, passed = 0;
  for (const auto& scenario : suite) {
    for (const auto& test : scenario["tests"]) {
      ++total;
      size_t questions = 0;
      const SpfResult r = evaluate(scenario["zone"], test, questions);
      const std::string got = verdict_name(r.verdict);
      bool ok = false;
      for (const auto& want : test["results"]) ok = ok || want.get<std::string>() == got;
      if (ok) {
        ++passed;
      } else {
        ADD_FAILURE() << test["id"].get<std::string>() << " (" << scenario["description"].get<std::string>()
                      << "): got " << got << " (" << r.reason << "), want one of " << test["results"].dump();
      }
    }
  }
  std::printf("RFC 7208 suite: %zu of %zu tests pass\n", passed, total);
  EXPECT_EQ(total, 203u);  // the suite python3-spf 2.0.14 ships; a different count means a different file
  EXPECT_EQ(passed, total);
}

}  // namespace
}  // namespace volley::spf
