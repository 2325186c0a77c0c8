// SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) message
// decoding for SMTP AUTH (RFC 4954). Pure: base64 text in, credentials out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace volley::auth {

struct Credentials {
  std::string authzid;   // PLAIN only; empty when absent
  std::string authcid;   // user name
  std::string password;
};

enum class SaslError {
  BadBase64,     // 501 5.5.2
  Malformed,     // 501 5.5.2 (PLAIN without two NULs, NUL inside a field, empty user...)
  Cancelled,     // client sent "*": 501 5.7.0
};

struct SaslResult {
  bool ok = false;
  Credentials credentials;
  SaslError error = SaslError::Malformed;
};

// `b64` is the client's initial response or continuation line. "*" -> Cancelled.
// The PLAIN message is authzid NUL authcid NUL passwd; each field <= 255 bytes,
// no NUL inside fields, authcid and passwd non-empty.
SaslResult decode_plain(std::string_view b64);
// One LOGIN step (username or password line): base64 -> text. "*" -> Cancelled.
// Refuses NUL bytes and values over 255 bytes.
struct SaslStep {
  bool ok = false;
  std::string value;
  SaslError error = SaslError::Malformed;
};
SaslStep decode_login_step(std::string_view b64);

}  // namespace volley::auth
