#include "dkim/key_record.hpp"

#include "dkim/tag_list.hpp"
#include "util/base64.hpp"

namespace volley::dkim {

namespace {

Error permerror(std::string reason) { return Error{ErrorCode::Invalid, std::move(reason)}; }

}  // namespace

KeyType key_type_for(Algorithm a) { return a == Algorithm::RsaSha256 ? KeyType::Rsa : KeyType::Ed25519; }

Result<KeyRecord> parse_key_record(std::string_view txt) {
  auto tags = parse_tag_list(txt);
  if (!tags) return Error{ErrorCode::Invalid, "key record: " + tags.error().message};
  const TagList& t = tags.value();
  KeyRecord key;
  if (auto v = t.find("v")) {
    if (t.tags.front().name != "v") return permerror("key record: v= is not the first tag");
    if (*v != "DKIM1") return permerror("key record: unsupported version v=" + std::string(v->substr(0, 20)));
  }
  if (auto k = t.find("k")) {
    if (*k == "rsa") key.type = KeyType::Rsa;
    else if (*k == "ed25519") key.type = KeyType::Ed25519;
    else return permerror("key record: unknown key type k=" + std::string(k->substr(0, 20)));
  }
  if (auto h = t.find("h"); h && !list_contains(*h, "sha256")) return permerror("key record: h= excludes sha256");
  if (auto s = t.find("s"); s && !list_contains(*s, "*") && !list_contains(*s, "email"))
    return permerror("key record: s= excludes email");
  if (auto flags = t.find("t")) {
    key.testing = list_contains(*flags, "y");
    key.strict_identity = list_contains(*flags, "s");
  }
  auto p = t.find("p");
  if (!p) return permerror("key record: missing p=");
  std::string b64 = strip_fws(*p);
  if (!b64.empty()) {
    auto bytes = base64_decode(b64);
    if (!bytes) return permerror("key record: p= is not base64");
    key.public_key = std::move(*bytes);
  }
  return key;
}

}  // namespace volley::dkim
