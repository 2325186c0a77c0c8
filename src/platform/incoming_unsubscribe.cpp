// Mail to the List-Unsubscribe mailto: address, unsubscribe@D.
#include <cctype>
#include <optional>

#include "platform/gmime_support.hpp"
#include "platform/incoming_reports.hpp"
#include "platform/return_path.hpp"
#include "platform/unsubscribe_action.hpp"
#include "platform/unsubscribe_token.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

// The header block read for the Subject: generous for any real mail, and
// parsed without a body, so GMime never sees the (hostile) MIME structure.
constexpr size_t kMaxHeaderBlockBytes = 64 * 1024;
// How much of the body is searched when the Subject has no token: mail
// clients put the mailto's subject first, some move it into the body.
constexpr size_t kBodyScanBytes = 4096;
// Candidates tried (each costs an HMAC): a body of 4 KB holds few words
// long enough to be a token.
constexpr size_t kMaxCandidates = 64;
// The shortest token: 31 bytes of framing, base64url.
constexpr size_t kMinTokenChars = 41;

bool token_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

// The first run of token characters in `text` that opens as our token.
std::optional<UnsubscribeFields> find_token(std::string_view secret, std::string_view text, size_t& tried) {
  size_t i = 0;
  while (i < text.size() && tried < kMaxCandidates) {
    while (i < text.size() && !token_char(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && token_char(text[j])) ++j;
    const size_t len = j - i;
    if (len >= kMinTokenChars && len <= kMaxUnsubscribeTokenChars) {
      ++tried;
      if (auto f = open_unsubscribe_token(secret, text.substr(i, len))) return std::move(*f);
    }
    i = j;
  }
  return std::nullopt;
}

std::string subject_of(std::string_view content) {
  size_t end = content.find("\r\n\r\n");
  if (end == std::string_view::npos || end > kMaxHeaderBlockBytes) return "";
  auto msg = parse_message_bytes(content.substr(0, end + 4));
  if (!msg) return "";
  return header_text(GMIME_OBJECT(msg.get()), "Subject");
}

std::string_view body_start(std::string_view content) {
  size_t end = content.find("\r\n\r\n");
  return end == std::string_view::npos ? std::string_view() : content.substr(end + 4, kBodyScanBytes);
}

}  // namespace

Result<std::string> take_mailto_unsubscribe(Platform& p, const IncomingReport& in) {
  const size_t at = in.recipient.rfind('@');
  const std::string domain = at == std::string::npos ? std::string() : to_lower(in.recipient.substr(at + 1));
  size_t tried = 0;
  auto who = find_token(secret_bytes(p), subject_of(in.content), tried);
  if (!who) who = find_token(secret_bytes(p), body_start(in.content), tried);
  if (!who) return make_error(ErrorCode::Invalid, "no unsubscribe token of ours in the subject or the body");
  // A token is for the domain whose mail it leaves; mailed to another
  // domain's unsubscribe@ it is not the mailto we gave out.
  if (!iequals(who->sender_domain, domain))
    return make_error(ErrorCode::Invalid, concat("token is for ", who->sender_domain, ", not ", domain));
  if (auto r = record_unsubscribe(p, *who, in.now, "mailto"); !r)
    return make_error(ErrorCode::Temporary, concat("unsubscribe: ", r.error().message));
  return concat("unsubscribed ", who->address, " from ", who->sender_domain,
                who->campaign_id.empty() ? std::string() : concat(" (campaign ", who->campaign_id, ")"));
}

}  // namespace volley::platform
