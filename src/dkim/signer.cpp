#include "dkim/signer.hpp"

#include "dkim/header_fields.hpp"
#include "dkim/header_hash.hpp"
#include "dkim/limits.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace volley::dkim {

namespace {

constexpr std::string_view kFieldName = "DKIM-Signature:";

// Appends items to a folded field: an item goes on the current line after a
// space when it fits in kMaxSignatureLineBytes, else on a new line " item".
class Folder {
 public:
  explicit Folder(std::string_view start) : out_(start), line_(start.size()) {}
  void add(std::string_view item) {
    if (line_ + 1 + item.size() > kMaxSignatureLineBytes) {
      out_ += "\r\n";
      line_ = 0;
    }
    out_ += ' ';
    out_ += item;
    line_ += 1 + item.size();
  }
  // Appends `text` with no space before it, breaking it (with CRLF SP) where
  // a line would pass the limit: for b= and h=, which allow FWS inside.
  void add_breakable(std::string_view text, std::string_view break_after) {
    while (!text.empty()) {
      size_t room = line_ < kMaxSignatureLineBytes ? kMaxSignatureLineBytes - line_ : 0;
      if (text.size() <= room) {
        out_ += text;
        line_ += text.size();
        return;
      }
      size_t cut = room;
      if (!break_after.empty() && room > 0) {  // break after a ":" of h=
        size_t p = text.substr(0, room).find_last_of(break_after);
        cut = p == std::string_view::npos ? 0 : p + 1;
        if (cut == 0 && line_ <= 1) cut = room;  // no ":" on a whole line: break anywhere
      }
      if (cut > 0) out_ += text.substr(0, cut);
      out_ += "\r\n ";
      line_ = 1;
      text.remove_prefix(cut);
    }
  }
  size_t column() const { return line_; }
  std::string& text() { return out_; }

 private:
  std::string out_;
  size_t line_;
};

}  // namespace

std::vector<std::string> headers_to_sign(std::string_view header_block) {
  auto fields = split_header_fields(header_block);
  std::vector<std::string> names;
  for (std::string_view name : kSignedHeaderNames) {
    size_t present = 0;
    for (const auto& f : fields) present += iequals(f.name, name) ? 1 : 0;
    if (iequals(name, "From")) ++present;
    for (size_t i = 0; i < present; ++i) names.push_back(to_lower(name));
  }
  return names;
}

Result<std::string> sign(const SigningKey& key, std::string_view domain, std::string_view selector,
                         std::string_view header_block, std::string_view body_hash_b64, int64_t now_unix) {
  // Config validation checks these too; a ";" here would corrupt the field.
  if (!valid_dns_name(domain) || !valid_dns_name(selector))
    return Error{ErrorCode::Invalid, "DKIM: bad domain or selector " + quoted(concat(selector, "._domainkey.", domain))};
  auto names = headers_to_sign(header_block);
  std::string h;
  for (const auto& n : names) {
    if (!h.empty()) h += ':';
    h += n;
  }
  Folder f(kFieldName);
  f.add("v=1;");
  f.add(concat("a=", algorithm_name(key.algorithm), ";"));
  f.add("c=relaxed/relaxed;");
  f.add(concat("d=", domain, ";"));
  f.add(concat("s=", selector, ";"));
  f.add(concat("t=", std::to_string(now_unix), ";"));
  f.add(concat("bh=", body_hash_b64, ";"));
  f.add("h=");
  f.add_breakable(concat(h, ";"), ":");
  f.add("b=");
  // The signature covers this very field with b= empty (RFC 6376 3.7).
  auto input = signing_input(header_block, names, Canon::Relaxed, f.text());
  auto sig = sign_data(key, input);
  if (!sig) return sig.error();
  f.add_breakable(base64_encode(sig.value()), "");
  f.text() += "\r\n";
  return std::move(f.text());
}

}  // namespace volley::dkim
