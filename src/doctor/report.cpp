#include "doctor/report.hpp"

#include <nlohmann/json.hpp>

#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace volley::doctor {

namespace {

using json = nlohmann::ordered_json;

// Long enough for an RSA-4096 DKIM record in a fix line.
constexpr size_t kMaxLineBytes = 8192;

void append_lines(std::string& out, const std::vector<Finding>& findings) {
  for (const auto& f : findings) {
    out.append(status_name(f.status)).append("  ").append(printable(f.name, kMaxLineBytes)).append(": ");
    out.append(printable(f.detail, kMaxLineBytes)).append("\n");
    if (!f.fix.empty()) out.append("      fix: ").append(printable(f.fix, kMaxLineBytes)).append("\n");
  }
}

json to_json(const std::vector<Finding>& findings) {
  json a = json::array();
  for (const auto& f : findings)
    a.push_back({{"name", f.name}, {"status", to_lower(status_name(f.status))}, {"detail", f.detail}, {"fix", f.fix}});
  return a;
}

size_t count_failed(const std::vector<Finding>& findings) {
  size_t n = 0;
  for (const auto& f : findings) n += f.status == Status::Fail;
  return n;
}

}  // namespace

std::string render_text(const Report& report) {
  std::string out = concat("volley doctor ", report.domain, "\n");
  for (const auto& n : report.notes) out.append("  ").append(printable(n, kMaxLineBytes)).append("\n");
  out.append("\nChecks:\n");
  append_lines(out, report.checks);
  out.append("\nBulk-sender rules (Gmail and Yahoo since 2024, Microsoft since 2025):\n");
  append_lines(out, report.rules);
  const size_t failed_checks = count_failed(report.checks), failed_rules = count_failed(report.rules);
  out.append("\n");
  if (report.passed()) out.append("overall: PASS\n");
  else
    out.append(concat("overall: FAIL (", std::to_string(failed_checks), " checks and ", std::to_string(failed_rules),
                      " rules failed)\n"));
  return out;
}

std::string render_json(const Report& report) {
  json j = {{"domain", report.domain},
            {"notes", report.notes},
            {"checks", to_json(report.checks)},
            {"rules", to_json(report.rules)},
            {"overall", report.passed() ? "pass" : "fail"}};
  // Bytes that are not UTF-8 (a TXT record may hold anything) become U+FFFD
  // rather than an exception.
  return json_text(j) + "\n";
}

}  // namespace volley::doctor
