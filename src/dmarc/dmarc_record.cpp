#include "dmarc/dmarc_record.hpp"

#include <charconv>

#include "dmarc/limits.hpp"
#include "util/strings.hpp"

namespace volley::dmarc {
namespace {

struct Tag {
  std::string name;  // lowercased
  std::string_view value;
};

// "tag=value; tag=value;" (RFC 7489 6.4, DKIM's tag-value syntax).
Result<std::vector<Tag>> split_tags(std::string_view txt) {
  std::vector<Tag> tags;
  while (!txt.empty()) {
    size_t semi = txt.find(';');
    std::string_view part = trim(txt.substr(0, semi));
    txt = semi == std::string_view::npos ? std::string_view() : txt.substr(semi + 1);
    if (part.empty()) continue;  // "a=b;;" and a trailing ";" are allowed
    if (tags.size() >= limits::kMaxRecordTags) return make_error(ErrorCode::Invalid, "too many tags");
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) return make_error(ErrorCode::Invalid, "tag without '=': " + std::string(part.substr(0, 32)));
    std::string name = to_lower(std::string(trim(part.substr(0, eq))));
    if (name.empty()) return make_error(ErrorCode::Invalid, "empty tag name");
    for (const auto& t : tags)
      if (t.name == name) return make_error(ErrorCode::Invalid, "tag " + name + " given twice");
    tags.push_back(Tag{std::move(name), trim(part.substr(eq + 1))});
  }
  return tags;
}

std::optional<Policy> policy_of(std::string_view v) {
  const std::string s = to_lower(std::string(v));
  if (s == "none") return Policy::None;
  if (s == "quarantine") return Policy::Quarantine;
  if (s == "reject") return Policy::Reject;
  return std::nullopt;
}

std::optional<Alignment> alignment_of(std::string_view v) {
  if (v == "r" || v == "R") return Alignment::Relaxed;
  if (v == "s" || v == "S") return Alignment::Strict;
  return std::nullopt;
}

// At least one URI of the rua= list looks like one (RFC 7489 6.2:
// "mailto:" or another scheme, optionally "!size").
bool has_usable_uri(std::string_view rua) {
  while (!rua.empty()) {
    size_t comma = rua.find(',');
    std::string_view uri = trim(rua.substr(0, comma));
    rua = comma == std::string_view::npos ? std::string_view() : rua.substr(comma + 1);
    size_t colon = uri.find(':');
    if (colon != std::string_view::npos && colon > 0 && colon + 1 < uri.size()) return true;
  }
  return false;
}

}  // namespace

const char* policy_name(Policy p) {
  switch (p) {
    case Policy::None: return "none";
    case Policy::Quarantine: return "quarantine";
    case Policy::Reject: return "reject";
  }
  return "none";
}

bool is_dmarc_record(std::string_view txt) {
  txt = trim(txt);
  if (txt.substr(0, 2) != "v=") return false;
  txt.remove_prefix(2);
  txt = trim(txt);
  return txt.substr(0, 6) == "DMARC1" && (txt.size() == 6 || txt[6] == ';' || txt[6] == ' ' || txt[6] == '\t');
}

Result<DmarcRecord> parse_dmarc_record(std::string_view txt) {
  if (txt.size() > limits::kMaxRecordLength) return make_error(ErrorCode::Invalid, "DMARC record too long");
  auto tags = split_tags(txt);
  if (!tags) return tags.error();
  if (tags->empty() || (*tags)[0].name != "v" || (*tags)[0].value != "DMARC1")
    return make_error(ErrorCode::Invalid, "the record does not start with v=DMARC1");
  DmarcRecord r;
  bool policy_ok = false, policies_valid = true;
  for (size_t i = 1; i < tags->size(); ++i) {
    const Tag& t = (*tags)[i];
    if (t.name == "p") {
      auto p = policy_of(t.value);
      if (p) r.policy = *p;
      policy_ok = p.has_value();
    } else if (t.name == "sp") {
      auto p = policy_of(t.value);
      if (p) r.subdomain_policy = *p;
      else policies_valid = false;
    } else if (t.name == "adkim" || t.name == "aspf") {
      auto a = alignment_of(t.value);
      if (!a) return make_error(ErrorCode::Invalid, t.name + "= must be r or s");
      (t.name == "adkim" ? r.dkim_alignment : r.spf_alignment) = *a;
    } else if (t.name == "pct") {
      unsigned v = 0;
      auto [end, ec] = std::from_chars(t.value.data(), t.value.data() + t.value.size(), v);
      if (ec != std::errc() || end != t.value.data() + t.value.size() || v > 100)
        return make_error(ErrorCode::Invalid, "pct= must be 0..100");
      r.pct = v;
    } else if (t.name == "rua") {
      r.rua = std::string(t.value);
    } else if (t.name == "ruf") {
      r.ruf = std::string(t.value);
    }
    // fo, rf, ri and unknown tags: nothing to enforce.
  }
  if (!policy_ok || !policies_valid) {
    // RFC 7489 6.6.3 step 6: a record with a usable rua= still counts, as p=none.
    if (!has_usable_uri(r.rua)) return make_error(ErrorCode::Invalid, "no valid p= (none, quarantine or reject)");
    r.policy = Policy::None;
    r.subdomain_policy.reset();
    r.policy_defaulted = true;
  }
  return r;
}

Result<std::optional<DmarcRecord>> select_dmarc_record(const std::vector<std::string>& txt_records) {
  const std::string* found = nullptr;
  for (const auto& txt : txt_records) {
    if (!is_dmarc_record(txt)) continue;
    if (found) return std::optional<DmarcRecord>{};  // more than one: no policy (6.6.3 step 5)
    found = &txt;
  }
  if (!found) return std::optional<DmarcRecord>{};
  auto r = parse_dmarc_record(*found);
  if (!r) return r.error();
  return std::optional<DmarcRecord>(std::move(*r));
}

}  // namespace volley::dmarc
