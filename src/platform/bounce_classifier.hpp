// Bounce classes from a delivery failure: (SMTP reply code, enhanced status
// code, reply text) -> hard / soft / block / quota / policy / spam / unknown.
//
// A rule table, first match wins: the operator's rules (api.bounce_rules,
// a TOML file) first, then the defaults shipped here (RFC 3463 codes and the
// big receivers' texts). A rule matches on a prefix of the enhanced status
// ("5.1.1", "5.7.", "4") and/or a case-insensitive substring of the text —
// plain substrings, no regular expressions, so a rule cannot make matching
// slow (no ReDoS). A reply without an enhanced status is treated as having
// "C.0.0" for its code's class C, so "5"-prefixed rules still apply.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley::platform {

enum class BounceClass {
  Hard,     // the address does not exist or will never take mail: suppress it
  Soft,     // temporary: try again (greylisting, busy, timeouts)
  Block,    // our IP/domain is blocked or throttled for reputation (block lists, Yahoo TS0x)
  Quota,    // the mailbox is full
  Policy,   // refused by policy: authentication (SPF/DKIM/DMARC), content, size
  Spam,     // refused as spam / unsolicited
  Unknown,  // nothing matched (no code at all)
};

const char* bounce_class_name(BounceClass c);
std::optional<BounceClass> parse_bounce_class(std::string_view name);

struct BounceRule {
  std::string status;  // enhanced-status prefix on dot boundaries ("5.7" matches 5.7.1, not 5.70.1); "" = any
  std::string text;    // lower-case substring of the reply text; "" = any
  BounceClass result = BounceClass::Unknown;
  std::string origin;  // "default" or "FILE:LINE", for logs ("classified hard by rules.toml:12")
};

struct BounceVerdict {
  BounceClass result = BounceClass::Unknown;
  const BounceRule* rule = nullptr;  // the rule that matched (owned by the classifier), or null
};

class BounceClassifier {
 public:
  // Defaults only.
  BounceClassifier();
  // `operator_rules` are tried before the defaults.
  explicit BounceClassifier(std::vector<BounceRule> operator_rules);

  // `code` 0 when unknown; `enhanced` "" when the reply had none (then one at
  // the start of `text` is used if present: "550 5.1.1 ..." passed whole).
  BounceVerdict classify(int code, std::string_view enhanced, std::string_view text) const;

  static const std::vector<BounceRule>& default_rules();

 private:
  std::vector<BounceRule> rules_;  // operator rules, then defaults
};

// Reads an api.bounce_rules file (format in docs/configuration.md). Errors
// read "FILE:LINE: rule[N].key: reason".
Result<std::vector<BounceRule>> load_bounce_rules(const std::string& path);
Result<std::vector<BounceRule>> parse_bounce_rules(std::string_view toml_text, const std::string& name);

}  // namespace volley::platform
