#include "platform/bounce_classifier.hpp"

#include <array>

#include "util/strings.hpp"

namespace volley::platform {
namespace {

using C = BounceClass;

constexpr std::array<std::pair<std::string_view, BounceClass>, 7> kNames = {{
    {"hard", C::Hard}, {"soft", C::Soft}, {"block", C::Block}, {"quota", C::Quota},
    {"policy", C::Policy}, {"spam", C::Spam}, {"unknown", C::Unknown}}};

BounceRule rule(std::string_view status, std::string_view text, BounceClass c) {
  return BounceRule{std::string(status), std::string(text), c, "default"};
}

// "5.1.1" at the start of a reply text ("5.1.1 user unknown"), per RFC 3463:
// class.subject.detail, subject and detail 1-3 digits.
std::string_view leading_status(std::string_view text) {
  size_t i = 0;
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') return {};
  i = 2;
  for (int part = 0; part < 2; ++part) {
    const size_t start = i;
    while (i < text.size() && i - start < 3 && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) return {};
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return {};
      ++i;
    }
  }
  if (i < text.size() && text[i] != ' ' && text[i] != '\t') return {};
  return text.substr(0, i);
}

bool status_matches(std::string_view prefix, std::string_view status) {
  if (prefix.empty()) return true;
  if (!status.starts_with(prefix)) return false;
  return prefix.back() == '.' || status.size() == prefix.size() || status[prefix.size()] == '.';
}

}  // namespace

const char* bounce_class_name(BounceClass c) {
  for (const auto& [name, value] : kNames)
    if (value == c) return name.data();
  return "unknown";
}

std::optional<BounceClass> parse_bounce_class(std::string_view name) {
  for (const auto& [n, value] : kNames)
    if (iequals(n, name)) return value;
  return std::nullopt;
}

// Order matters: specific texts before the status codes they come with, and
// block-list texts before the word "spam" (a "Spamhaus" listing is a block,
// not a verdict on this message).
const std::vector<BounceRule>& BounceClassifier::default_rules() {
  static const std::vector<BounceRule> rules = {
      // Greylisting and "try later" are temporary, whatever 4.7.x says.
      rule("4", "greylist", C::Soft), rule("4", "graylist", C::Soft), rule("4", "try again later", C::Soft),
      // Block lists and reputation (Microsoft "blocked using Spamhaus", S3140
      // "on our block list"; Yahoo "[TS01]"-"[TS04]" temporarily deferred for
      // volume or complaints; Gmail "421-4.7.28 ... unusual rate").
      rule("", "spamhaus", C::Block), rule("", "blocked using", C::Block), rule("", "block list", C::Block),
      rule("", "blocklist", C::Block), rule("", "blacklist", C::Block), rule("", "denylist", C::Block),
      rule("", "listed at", C::Block), rule("", "listed on", C::Block), rule("", "spamcop", C::Block),
      rule("", "[ts01]", C::Block), rule("", "[ts02]", C::Block), rule("", "[ts03]", C::Block),
      rule("", "[ts04]", C::Block), rule("", "temporarily deferred", C::Block), rule("", "unusual rate", C::Block),
      rule("", "poor reputation", C::Block), rule("", "low reputation", C::Block),
      rule("", "too many connections", C::Soft), rule("4", "rate limit", C::Block),
      // Quota: Gmail "The email account that you tried to reach is over quota",
      // "mailbox full", "insufficient storage" (4.2.2 / 5.2.2).
      rule("", "over quota", C::Quota), rule("", "quota exceeded", C::Quota), rule("", "exceeded storage", C::Quota),
      rule("", "mailbox full", C::Quota), rule("", "mailbox is full", C::Quota),
      rule("", "insufficient storage", C::Quota), rule("", "out of storage", C::Quota),
      rule("4.2.2", "", C::Quota), rule("5.2.2", "", C::Quota),
      // Spam verdicts on the content (Gmail 5.7.1 "likely unsolicited mail").
      rule("", "unsolicited", C::Spam), rule("", "spam", C::Spam), rule("", "junk mail", C::Spam),
      rule("", "phishing", C::Spam),
      // Authentication and other policy (Gmail 5.7.26/5.7.27, "unauthenticated").
      rule("5.7.26", "", C::Policy), rule("5.7.27", "", C::Policy), rule("", "unauthenticated", C::Policy),
      rule("", "dmarc", C::Policy), rule("", "spf", C::Policy), rule("", "dkim", C::Policy),
      rule("", "policy", C::Policy), rule("5.2.3", "", C::Policy), rule("5.3.4", "", C::Policy),
      rule("", "message too large", C::Policy), rule("", "size exceeds", C::Policy),
      // The address does not exist (Gmail "The email account that you tried to
      // reach does not exist"; "user unknown", "no such user", ...).
      rule("5", "does not exist", C::Hard), rule("5", "user unknown", C::Hard), rule("5", "unknown user", C::Hard),
      rule("5", "no such user", C::Hard), rule("5", "no such mailbox", C::Hard),
      rule("5", "invalid recipient", C::Hard), rule("5", "recipient rejected", C::Hard),
      rule("5", "address rejected", C::Hard), rule("5", "mailbox unavailable", C::Hard),
      rule("5", "account disabled", C::Hard), rule("5", "mailbox disabled", C::Hard),
      rule("5", "inactive", C::Hard),
      // RFC 3463 subjects: 5.1.x addressing, 5.2.1 disabled, 5.4.x routing ->
      // the address will not work; 4.x temporary; x.7.x security/policy.
      rule("5.1", "", C::Hard), rule("5.2.1", "", C::Hard), rule("5.4", "", C::Hard), rule("5.5", "", C::Hard),
      rule("4.7", "", C::Block), rule("5.7", "", C::Policy), rule("4", "", C::Soft), rule("5", "", C::Hard),
  };
  return rules;
}

BounceClassifier::BounceClassifier() : rules_(default_rules()) {}

BounceClassifier::BounceClassifier(std::vector<BounceRule> operator_rules) : rules_(std::move(operator_rules)) {
  rules_.insert(rules_.end(), default_rules().begin(), default_rules().end());
}

BounceVerdict BounceClassifier::classify(int code, std::string_view enhanced, std::string_view text) const {
  // Strip the reply code ("550 ", "550-") so a leading enhanced status is seen.
  if (text.size() >= 4 && text[0] >= '2' && text[0] <= '5' && (text[3] == ' ' || text[3] == '-')) {
    if (code == 0) code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
    text.remove_prefix(4);
  }
  std::string status(enhanced.empty() ? leading_status(text) : enhanced);
  if (status.empty() && code >= 200 && code < 600) status = concat(std::to_string(code / 100), ".0.0");
  if (status.empty() && text.empty()) return {};
  const std::string lower = to_lower(text);
  for (const BounceRule& r : rules_)
    if (status_matches(r.status, status) && (r.text.empty() || lower.find(r.text) != std::string::npos))
      return BounceVerdict{r.result, &r};
  return {};
}

}  // namespace volley::platform
