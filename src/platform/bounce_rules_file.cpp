// The api.bounce_rules file: operator rules for BounceClassifier.
//
//   [[rule]]
//   status = "5.7.1"                 # optional: enhanced-status prefix
//   text = "blocked using spamhaus"  # optional: case-insensitive substring
//   class = "block"                  # hard, soft, block, quota, policy, spam, unknown
//
// Each rule needs status or text (a rule matching everything would hide
// every default), and nothing else: a misspelt key is an error, not a rule
// that silently matches more than meant.
#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "platform/bounce_classifier.hpp"
#include "platform/limits.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

uint32_t line_of(const toml::node& n) { return std::max<uint32_t>(1, n.source().begin.line); }

Error at(const std::string& name, uint32_t line, size_t index, std::string_view key, std::string_view why) {
  return make_error(ErrorCode::Invalid, concat(name, ":", std::to_string(line), ": rule[", std::to_string(index), "]",
                                               key.empty() ? "" : ".", key, ": ", why));
}

bool is_status_prefix(std::string_view s) {
  // Digits and dots, starting with the class digit: "5", "5.", "5.7", "5.7.1".
  if (s.empty() || (s[0] != '4' && s[0] != '5' && s[0] != '2')) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || c == '.')) return false;
  return s.find("..") == s.npos && s.size() <= 11;
}

}  // namespace

Result<std::vector<BounceRule>> parse_bounce_rules(std::string_view toml_text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(name));
  } catch (const toml::parse_error& e) {
    const uint32_t line = std::max<uint32_t>(1, e.source().begin.line);
    return make_error(ErrorCode::Invalid, concat(name, ":", std::to_string(line), ": ", e.description()));
  }
  std::vector<BounceRule> rules;
  for (auto&& [key, node] : root) {
    if (key.str() != "rule")
      return make_error(ErrorCode::Invalid, concat(name, ":", std::to_string(line_of(node)), ": unknown key ",
                                                   volley::quoted(key.str()), " (rules are [[rule]] tables)"));
  }
  const toml::node* list_node = root.get("rule");
  if (!list_node) return rules;
  const toml::array* list = list_node->as_array();
  if (!list || !list->is_array_of_tables())
    return make_error(ErrorCode::Invalid, concat(name, ":", std::to_string(line_of(*list_node)),
                                                 ": rule: expected [[rule]] tables"));
  if (list->size() > kMaxBounceRules)
    return make_error(ErrorCode::Invalid, concat(name, ": more than ", std::to_string(kMaxBounceRules), " rules"));
  for (size_t i = 0; i < list->size(); ++i) {
    const toml::table& t = *list->get(i)->as_table();
    const uint32_t line = line_of(t);
    BounceRule r;
    r.origin = concat(name, ":", std::to_string(line));
    bool has_class = false;
    for (auto&& [k, v] : t) {
      const std::string_view key = k.str();
      const uint32_t kline = line_of(v);
      const auto* s = v.as_string();
      if (key != "status" && key != "text" && key != "class")
        return at(name, kline, i, key, "unknown key (expected status, text, class)");
      if (!s) return at(name, kline, i, key, "expected a string");
      const std::string_view value = s->get();
      if (key == "status") {
        if (!is_status_prefix(value)) return at(name, kline, i, key, "expected an enhanced status prefix like \"5.7.1\" or \"4\"");
        r.status = std::string(value);
      } else if (key == "text") {
        if (value.empty() || value.size() > kMaxBounceRuleTextBytes)
          return at(name, kline, i, key, concat("expected 1 to ", std::to_string(kMaxBounceRuleTextBytes), " characters"));
        r.text = to_lower(value);
      } else {
        auto c = parse_bounce_class(value);
        if (!c) return at(name, kline, i, key, "expected one of hard, soft, block, quota, policy, spam, unknown");
        r.result = *c;
        has_class = true;
      }
    }
    if (!has_class) return at(name, line, i, "class", "required");
    if (r.status.empty() && r.text.empty()) return at(name, line, i, "", "needs status or text (or both)");
    rules.push_back(std::move(r));
  }
  return rules;
}

Result<std::vector<BounceRule>> load_bounce_rules(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::Invalid, concat(path, ": cannot read"));
  std::string text(kMaxBounceRulesFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxBounceRulesFileBytes)
    return make_error(ErrorCode::Invalid, concat(path, ": larger than ", std::to_string(kMaxBounceRulesFileBytes), " bytes"));
  return parse_bounce_rules(text, path);
}

}  // namespace volley::platform
