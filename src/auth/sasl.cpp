#include "auth/sasl.hpp"

#include <vector>

#include "util/base64.hpp"

namespace volley::auth {
namespace {

// RFC 4616 allows 255 octets per field; anything longer is not a password a
// mailbox user could have set, and capping bounds the work per attempt.
constexpr size_t kMaxField = 255;

bool is_cancel(std::string_view b64) { return b64 == "*"; }

// Splits on NUL. An authzid NUL authcid NUL passwd message gives 3 fields;
// any other count means a missing separator or a NUL inside a field.
std::vector<std::string_view> split_nul(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find('\0', start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

SaslResult plain_error(SaslError e) {
  SaslResult r;
  r.error = e;
  return r;
}

SaslStep step_error(SaslError e) {
  SaslStep r;
  r.error = e;
  return r;
}

}  // namespace

SaslResult decode_plain(std::string_view b64) {
  if (is_cancel(b64)) return plain_error(SaslError::Cancelled);
  auto decoded = base64_decode(b64);
  if (!decoded) return plain_error(SaslError::BadBase64);

  auto parts = split_nul(*decoded);
  if (parts.size() != 3) return plain_error(SaslError::Malformed);
  for (auto p : parts)
    if (p.size() > kMaxField) return plain_error(SaslError::Malformed);
  if (parts[1].empty() || parts[2].empty()) return plain_error(SaslError::Malformed);

  SaslResult r;
  r.ok = true;
  r.credentials.authzid = std::string(parts[0]);
  r.credentials.authcid = std::string(parts[1]);
  r.credentials.password = std::string(parts[2]);
  return r;
}

// Empty values are passed through: whether an empty user name or password is
// acceptable is the caller's decision (it will fail authentication anyway).
SaslStep decode_login_step(std::string_view b64) {
  if (is_cancel(b64)) return step_error(SaslError::Cancelled);
  auto decoded = base64_decode(b64);
  if (!decoded) return step_error(SaslError::BadBase64);
  if (decoded->size() > kMaxField || decoded->find('\0') != std::string::npos) return step_error(SaslError::Malformed);

  SaslStep r;
  r.ok = true;
  r.value = std::move(*decoded);
  return r;
}

}  // namespace volley::auth
