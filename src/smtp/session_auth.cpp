// AUTH (RFC 4954) with the PLAIN and LOGIN mechanisms. The session only
// decodes; the loop checks the password off the I/O thread and applies the
// per-address failure delay before calling auth_result().
#include "smtp/session.hpp"
#include "smtp/session_transaction.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::smtp {
namespace {
constexpr const char* kUserPrompt = "VXNlcm5hbWU6";  // base64("Username:")
constexpr const char* kPassPrompt = "UGFzc3dvcmQ6";  // base64("Password:")
}  // namespace

void Session::do_auth(std::string_view arg) {
  if (settings_.role != config::SmtpRole::Submission) return error(503, "5.5.1", "Authentication not enabled");
  if (!esmtp_) return error(503, "5.5.1", "Send EHLO first");
  if (authenticated_) return error(503, "5.5.1", "Already authenticated");
  if (tx_) return error(503, "5.5.1", "AUTH not allowed during a mail transaction");
  if (settings_.require_tls_for_auth && !tls_active_)
    return error(538, "5.7.11", "Encryption required for requested authentication mechanism");
  size_t sp = arg.find(' ');
  std::string_view mech = arg.substr(0, sp);
  std::string_view initial = sp == std::string_view::npos ? std::string_view() : trim(arg.substr(sp + 1));
  if (mech.empty()) return error(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
  if (iequals(mech, "PLAIN")) {
    if (initial.empty()) {
      reply(334, "", "");
      enter_state(State::SaslPlain);
      return;
    }
    // "=" is an empty initial response (RFC 4954 4).
    auto r = auth::decode_plain(initial == "=" ? std::string_view() : initial);
    if (!r.ok) return sasl_failure(r.error);
    return request_auth(std::move(r.credentials));
  }
  if (iequals(mech, "LOGIN")) {
    if (initial.empty()) {
      reply(334, "", kUserPrompt);
      enter_state(State::SaslUser);
      return;
    }
    auto step = auth::decode_login_step(initial);
    if (!step.ok) return sasl_failure(step.error);
    sasl_user_ = std::move(step.value);
    reply(334, "", kPassPrompt);
    enter_state(State::SaslPass);
    return;
  }
  error(504, "5.5.4", "Unrecognized authentication mechanism");
}

void Session::sasl_line(std::string_view line) {
  State s = state_;
  enter_state(State::Ready);
  if (s == State::SaslPlain) {
    auto r = auth::decode_plain(line);
    if (!r.ok) return sasl_failure(r.error);
    return request_auth(std::move(r.credentials));
  }
  auto step = auth::decode_login_step(line);
  if (!step.ok) return sasl_failure(step.error);
  if (s == State::SaslUser) {
    sasl_user_ = std::move(step.value);
    reply(334, "", kPassPrompt);
    enter_state(State::SaslPass);
    return;
  }
  auth::Credentials c;
  c.authcid = std::move(sasl_user_);
  c.password = std::move(step.value);
  sasl_user_.clear();
  request_auth(std::move(c));
}

void Session::sasl_failure(auth::SaslError e) {
  sasl_user_.clear();
  enter_state(State::Ready);
  switch (e) {
    case auth::SaslError::Cancelled: return error(501, "5.7.0", "Authentication cancelled");
    case auth::SaslError::BadBase64: return error(501, "5.5.2", "Invalid base64 data");
    case auth::SaslError::Malformed: return error(501, "5.5.2", "Malformed authentication response");
  }
}

void Session::request_auth(auth::Credentials creds) {
  pending_auth_ = std::move(creds);
  enter_state(State::WaitAuth);
}

void Session::auth_result(const Result<std::string>& verdict) {
  std::string user = std::move(pending_auth_.authcid);
  pending_auth_ = auth::Credentials{};
  enter_state(State::Ready);
  if (verdict) {
    authenticated_ = true;
    auth_user_ = verdict.value();
    log::info("smtp.auth").kv("client", client_.ip).kv("user", auth_user_).kv("result", "ok");
    reply(235, "2.7.0", "Authentication successful");
    return;
  }
  const Error& e = verdict.error();
  if (e.code == ErrorCode::RateLimited) {
    // No password was checked; counted as a protocol error so a client that
    // keeps trying is soon disconnected.
    log::warn("smtp.auth").kv("client", client_.ip).kv("user", user).kv("result", "rate_limited");
    return error(454, "4.7.0", "Too many authentication failures from your address, try again later");
  }
  if (e.temporary()) {
    // RFC 4954 6: the users cannot be read now; nothing is the client's fault.
    log::warn("smtp.auth").kv("client", client_.ip).kv("user", user).kv("result", "temporary").kv("error", e.message);
    return reply(454, "4.7.0", "Temporary authentication failure");
  }
  ++auth_failures_;
  log::warn("smtp.auth")
      .kv("client", client_.ip)
      .kv("user", user)
      .kv("result", "failed")
      .kv("failures", static_cast<uint64_t>(auth_failures_));
  reply(535, "5.7.8", "Authentication credentials invalid");
  if (auth_failures_ >= settings_.limits.max_auth_failures)
    close_with(421, "4.7.0", settings_.hostname + " Too many authentication failures, closing connection");
}

}  // namespace volley::smtp
