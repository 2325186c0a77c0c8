// The AUTHORIZATION state: CAPA, STLS, USER/PASS, AUTH PLAIN (RFC 5034), and
// the results of the password check and of opening the maildrop.
#include "pop3/session.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::pop3 {
namespace {
constexpr std::string_view kCleartextRefused =
    "[AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";
}  // namespace

bool Session::auth_allowed() const { return tls_active_ || !settings_.require_tls_for_auth; }

bool Session::refuse_cleartext_auth() {
  if (auth_allowed()) return false;
  // No password is looked at; counted, so a client cannot loop on it.
  user_.clear();
  bad(kCleartextRefused);
  return true;
}

void Session::do_capa(const CommandLine&) {
  ok("Capability list follows");
  out_.append("CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
  // Like Dovecot, USER and SASL are advertised only where a login may be
  // made, and STLS only before TLS (RFC 2595 4).
  if (state_ == State::Authorization && auth_allowed()) out_.append("USER\r\nSASL PLAIN\r\n");
  if (state_ == State::Authorization && settings_.tls_mode == config::TlsMode::StartTls && !tls_active_)
    out_.append("STLS\r\n");
  out_.append("IMPLEMENTATION Volley\r\n.\r\n");
}

void Session::do_stls(const CommandLine&) {
  if (settings_.tls_mode != config::TlsMode::StartTls) return bad("STLS is not offered here.");
  if (tls_active_) return bad("TLS is already active.");
  ok("Begin TLS negotiation now.");
  // RFC 2595 / RFC 3207's lesson: bytes pipelined after STLS were sent in
  // clear and must not be taken as commands from the secured channel.
  in_.clear();
  in_pos_ = 0;
  enter_state(State::WaitTls);
}

void Session::do_user(const CommandLine& c) {
  if (refuse_cleartext_auth()) return;
  if (c.rest.empty()) return bad("No username given.");
  user_ = std::string(trim(c.rest));
  ok("");
}

void Session::do_pass(const CommandLine& c) {
  if (refuse_cleartext_auth()) return;
  if (user_.empty()) return bad("No username given.");
  auth::Credentials creds;
  creds.authcid = std::move(user_);
  creds.password = std::string(c.rest);  // RFC 1939 7: spaces are part of the password
  user_.clear();
  request_auth(std::move(creds));
}

void Session::do_apop(const CommandLine&) { bad("APOP is not supported."); }

void Session::do_auth(const CommandLine& c) {
  if (c.arg_count == 0) {
    // No mechanism: list them (as Dovecot and most servers do).
    ok("");
    out_.append("PLAIN\r\n.\r\n");
    return;
  }
  if (!iequals(c.args[0], "PLAIN")) return bad("Unsupported authentication mechanism.");
  if (refuse_cleartext_auth()) return;
  if (c.extra_args) return bad("Invalid AUTH parameters.");
  if (c.arg_count == 1) {
    out_.append("+ \r\n");
    enter_state(State::SaslPlain);
    return;
  }
  // "=" is an empty initial response (RFC 5034 4).
  sasl_line(c.args[1] == "=" ? std::string_view() : c.args[1]);
}

void Session::sasl_line(std::string_view line) {
  enter_state(State::Authorization);
  auto r = auth::decode_plain(line);
  if (r.ok) return request_auth(std::move(r.credentials));
  switch (r.error) {
    case auth::SaslError::Cancelled: return bad("Authentication cancelled.");
    case auth::SaslError::BadBase64: return bad("Invalid base64 data in continued response.");
    case auth::SaslError::Malformed: return bad("[AUTH] Authentication failed.");
  }
}

void Session::request_auth(auth::Credentials creds) {
  pending_auth_ = std::move(creds);
  enter_state(State::WaitAuth);
}

void Session::auth_result(const Result<std::string>& verdict) {
  const std::string name = std::move(pending_auth_.authcid);
  pending_auth_ = auth::Credentials{};
  enter_state(State::Authorization);
  if (verdict) {
    user_ = verdict.value();
    enter_state(State::WaitOpen);
    return;
  }
  const Error& e = verdict.error();
  if (e.code == ErrorCode::RateLimited) {
    log::warn("pop3.login").kv("client", client_ip_).kv("user", name).kv("result", "rate_limited");
    return bad("[SYS/TEMP] Too many authentication failures from your address, try again later.");
  }
  if (e.code != ErrorCode::Permanent) {
    log::warn("pop3.login").kv("client", client_ip_).kv("user", name).kv("result", "temporary").kv("error", e.message);
    return err("[SYS/TEMP] Temporary authentication failure, try again later.");
  }
  ++auth_failures_;
  log::warn("pop3.login")
      .kv("client", client_ip_)
      .kv("user", name)
      .kv("result", "failed")
      .kv("failures", static_cast<uint64_t>(auth_failures_));
  err("[AUTH] Authentication failed.");
  if (auth_failures_ >= settings_.max_auth_failures) close_with("-ERR Too many authentication failures.");
}

void Session::open_result(Result<std::unique_ptr<Maildrop>> opened) {
  enter_state(State::Authorization);
  if (!opened) {
    const Error& e = opened.error();
    const bool busy = e.code == ErrorCode::Busy;
    log::warn("pop3.login")
        .kv("client", client_ip_)
        .kv("user", user_)
        .kv("result", busy ? "in_use" : "mailbox_error")
        .kv("error", e.message);
    user_.clear();
    if (busy) return err("[IN-USE] Mailbox is locked by another POP3 session, try again later.");
    return err("[SYS/TEMP] Cannot open the mailbox now, try again later.");
  }
  maildrop_ = std::move(opened.value());
  const auto& entries = maildrop_->entries();
  deleted_.assign(entries.size(), false);
  retrieved_.assign(entries.size(), false);
  total_bytes_ = 0;
  for (const auto& e : entries) total_bytes_ += e.size;
  log::info("pop3.login")
      .kv("client", client_ip_)
      .kv("user", user_)
      .kv("result", "ok")
      .kv("tls", tls_active_ ? "yes" : "no")
      .kv("messages", static_cast<uint64_t>(entries.size()))
      .kv("bytes", total_bytes_);
  enter_state(State::Transaction);
  ok("Logged in.");
}

}  // namespace volley::pop3
