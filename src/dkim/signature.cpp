#include "dkim/signature.hpp"

#include <charconv>

#include "dkim/header_fields.hpp"
#include "dkim/limits.hpp"
#include "dkim/tag_list.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace volley::dkim {

namespace {

Error permerror(std::string reason) { return Error{ErrorCode::Invalid, std::move(reason)}; }

template <class Int>
std::optional<Int> parse_number(std::string_view s) {
  Int v{};
  if (s.empty() || s.size() > 20) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// i= must be d= or a subdomain of it (RFC 6376 3.5).
bool identity_within(std::string_view identity, std::string_view domain) {
  size_t at = identity.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string idom = to_lower(identity.substr(at + 1));
  if (idom == domain) return true;
  return idom.size() > domain.size() && idom.compare(idom.size() - domain.size(), domain.size(), domain) == 0 &&
         idom[idom.size() - domain.size() - 1] == '.';
}

Result<std::vector<std::string>> parse_header_list(std::string_view h) {
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos <= h.size()) {
    size_t colon = h.find(':', pos);
    if (colon == std::string_view::npos) colon = h.size();
    std::string name = to_lower(strip_fws(h.substr(pos, colon - pos)));
    if (name.empty()) return permerror("empty header name in h=");
    for (char c : name)
      if (c < 0x21 || c > 0x7e) return permerror("bad header name in h=");
    if (names.size() == kMaxSignedHeaders) return permerror("more than " + std::to_string(kMaxSignedHeaders) + " names in h=");
    names.push_back(std::move(name));
    pos = colon + 1;
  }
  return names;
}

// The tag-list of a raw field: after the colon, without the field's own line end.
std::string_view field_value(std::string_view raw_field) {
  std::string_view value = raw_field.substr(raw_field.find(':') + 1);
  if (value.ends_with("\r\n")) value.remove_suffix(2);
  else if (value.ends_with("\n")) value.remove_suffix(1);
  return value;
}

}  // namespace

const char* algorithm_name(Algorithm a) { return a == Algorithm::RsaSha256 ? "rsa-sha256" : "ed25519-sha256"; }

std::optional<Algorithm> parse_algorithm(std::string_view name) {
  if (name == "rsa-sha256") return Algorithm::RsaSha256;
  if (name == "ed25519-sha256") return Algorithm::Ed25519Sha256;
  return std::nullopt;
}

bool valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

Result<ParsedSignature> parse_signature(std::string_view raw_field) {
  size_t colon = raw_field.find(':');
  if (colon == std::string_view::npos) return permerror("not a header field");
  std::string_view value = field_value(raw_field);
  auto tags = parse_tag_list(value);
  if (!tags) return tags.error();
  const TagList& t = tags.value();
  auto required = [&](const char* name) -> Result<std::string_view> {
    auto v = t.find(name);
    if (!v) return permerror(std::string("missing tag ") + name + "=");
    return *v;
  };

  ParsedSignature sig;
  sig.raw_field = std::string(raw_field);
  auto v = required("v");
  if (!v) return v.error();
  if (*v != "1") return permerror("unsupported version v=" + printable(*v, 20));

  auto a = required("a");
  if (!a) return a.error();
  auto alg = parse_algorithm(*a);
  if (!alg) {
    if (*a == "rsa-sha1") return permerror("a=rsa-sha1 is not accepted (RFC 8301)");
    return permerror("unknown algorithm a=" + printable(*a, 40));
  }
  sig.algorithm = *alg;

  if (auto c = t.find("c")) {
    std::string_view hc = *c, bc = "simple";
    if (size_t slash = c->find('/'); slash != std::string_view::npos) {
      hc = c->substr(0, slash);
      bc = c->substr(slash + 1);
    }
    auto h = parse_canon(hc), b = parse_canon(bc);
    if (!h || !b) return permerror("unknown canonicalization c=" + printable(*c, 40));
    sig.header_canon = *h;
    sig.body_canon = *b;
  }

  auto d = required("d");
  if (!d) return d.error();
  if (!valid_dns_name(*d)) return permerror("bad domain d=" + printable(*d, 80));
  sig.domain = to_lower(*d);

  auto s = required("s");
  if (!s) return s.error();
  if (!valid_dns_name(*s)) return permerror("bad selector s=" + printable(*s, 80));
  sig.selector = std::string(*s);

  auto h = required("h");
  if (!h) return h.error();
  auto names = parse_header_list(*h);
  if (!names) return names.error();
  sig.signed_headers = std::move(names.value());
  bool has_from = false;
  for (const auto& n : sig.signed_headers) has_from = has_from || n == "from";
  if (!has_from) return permerror("h= does not include From");

  auto bh = required("bh");
  if (!bh) return bh.error();
  sig.body_hash_b64 = strip_fws(*bh);
  auto bh_bytes = base64_decode(sig.body_hash_b64);
  if (!bh_bytes || bh_bytes->size() != 32) return permerror("bh= is not a base64 SHA-256 hash");

  auto b = required("b");
  if (!b) return b.error();
  auto b_bytes = base64_decode(strip_fws(*b));
  if (!b_bytes || b_bytes->empty()) return permerror("b= is not base64");
  sig.signature = std::move(*b_bytes);
  sig.b_value_begin = static_cast<size_t>(b->data() - raw_field.data());
  sig.b_value_end = sig.b_value_begin + b->size();

  if (auto i = t.find("i")) {
    if (!identity_within(*i, sig.domain)) return permerror("i= is not within d=");
    sig.identity = std::string(*i);
  } else {
    sig.identity = concat("@", sig.domain);
  }
  if (auto l = t.find("l")) {
    sig.body_length = parse_number<uint64_t>(*l);
    if (!sig.body_length) return permerror("bad body length l=" + printable(*l, 40));
  }
  if (auto q = t.find("q"); q && !list_contains(*q, "dns/txt")) return permerror("q= does not offer dns/txt");
  if (auto ts = t.find("t")) {
    sig.timestamp = parse_number<int64_t>(*ts);
    if (!sig.timestamp) return permerror("bad timestamp t=" + printable(*ts, 40));
  }
  if (auto x = t.find("x")) {
    sig.expiration = parse_number<int64_t>(*x);
    if (!sig.expiration) return permerror("bad expiration x=" + printable(*x, 40));
    if (sig.timestamp && *sig.expiration < *sig.timestamp) return permerror("x= is before t=");
  }
  return sig;
}

std::vector<FoundSignature> find_signatures(std::string_view header_block) {
  std::vector<FoundSignature> found;
  for (const auto& field : split_header_fields(header_block)) {
    if (!iequals(field.name, "DKIM-Signature")) continue;
    if (found.size() == kMaxSignaturesPerMessage) break;
    FoundSignature f{parse_signature(field.raw), {}, {}};
    if (f.parsed) {
      f.domain = f.parsed->domain;
      f.selector = f.parsed->selector;
    } else if (auto tags = parse_tag_list(field_value(field.raw))) {
      f.domain = to_lower(printable(tags->find("d").value_or(""), 253));
      f.selector = printable(tags->find("s").value_or(""), 253);
    }
    found.push_back(std::move(f));
  }
  return found;
}

}  // namespace volley::dkim
