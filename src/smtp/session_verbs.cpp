// Session verbs other than AUTH and message content: HELO/EHLO, MAIL, RCPT,
// RSET, NOOP, VRFY, EXPN, HELP, QUIT, STARTTLS. Each checks first (answering
// the error and returning) and then proceeds.
#include "smtp/received.hpp"
#include "smtp/session.hpp"
#include "smtp/session_transaction.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::smtp {
namespace {

// Maps a parser error to the RFC reply; `sender` selects 5.1.7 vs 5.1.3.
Reply parse_error_reply(const ParseError& e, bool sender) {
  const char* addr_code = sender ? "5.1.7" : "5.1.3";
  std::string what = sender ? "Bad sender address syntax" : "Bad recipient address syntax";
  switch (e.kind) {
    case ParseErrorKind::BadAddress:
    case ParseErrorKind::AddressTooLong:
      return Reply(501, addr_code, what + (e.detail.empty() ? "" : ": " + e.detail));
    case ParseErrorKind::Utf8WithoutSmtpUtf8:
      return Reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
    case ParseErrorKind::UnknownParameter:
      return Reply(555, "5.5.4", "Unsupported parameter" + (e.detail.empty() ? "" : ": " + e.detail));
    case ParseErrorKind::BadParameterValue:
    case ParseErrorKind::DuplicateParameter:
      return Reply(501, "5.5.4", "Invalid parameter" + (e.detail.empty() ? "" : ": " + e.detail));
    case ParseErrorKind::Syntax:
      break;
  }
  return Reply(501, "5.5.4", sender ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>");
}

}  // namespace

bool Session::helo_common(std::string_view arg, bool esmtp) {
  if (arg.empty()) {
    error(501, "5.5.4", esmtp ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
    return false;
  }
  if (!is_valid_helo_argument(arg)) {
    error(501, "5.5.2", "Invalid domain name in HELO/EHLO");
    return false;
  }
  if (state_ != State::Fresh && state_ != State::Ready && state_ != State::Mail && state_ != State::Rcpt) {
    error(503, "5.5.1", "Bad sequence of commands");
    return false;
  }
  // A new HELO/EHLO resets any transaction (RFC 5321 4.1.4).
  tx_.reset();
  helo_.assign(arg);
  esmtp_ = esmtp;
  enter_state(State::Ready);
  return true;
}

bool Session::auth_offered() const {
  if (settings_.role != config::SmtpRole::Submission || authenticated_) return false;
  return tls_active_ || !settings_.require_tls_for_auth;
}

void Session::do_helo(std::string_view arg) {
  if (helo_common(arg, false)) reply(250, "", settings_.hostname);
}

void Session::do_ehlo(std::string_view arg) {
  if (!helo_common(arg, true)) return;
  Reply r(250, "", settings_.hostname + " Hello " + sanitize_for_header(arg) + " [" + client_.ip + "]");
  r.lines.push_back("PIPELINING");
  r.lines.push_back("SIZE " + std::to_string(settings_.limits.max_message_size));
  r.lines.push_back("8BITMIME");
  r.lines.push_back("SMTPUTF8");
  r.lines.push_back("ENHANCEDSTATUSCODES");
  r.lines.push_back("CHUNKING");
  r.lines.push_back("DSN");
  if (settings_.tls_mode == config::TlsMode::StartTls && !tls_active_) r.lines.push_back("STARTTLS");
  if (auth_offered()) r.lines.push_back("AUTH PLAIN LOGIN");
  r.lines.push_back("HELP");
  reply(r);
}

void Session::do_mail(std::string_view arg) {
  if (state_ == State::Fresh) return error(503, "5.5.1", "Send HELO/EHLO first");
  if (tx_) return error(503, "5.5.1", "Nested MAIL command");
  if (settings_.role == config::SmtpRole::Submission && !authenticated_) {
    if (settings_.require_tls_for_auth && !tls_active_ && settings_.tls_mode == config::TlsMode::StartTls)
      return error(530, "5.7.0", "Must issue a STARTTLS command first");
    return error(530, "5.7.0", "Authentication required");
  }
  auto parsed = parse_mail(arg, true);
  if (!parsed.ok) {
    Reply r = parse_error_reply(parsed.error, true);
    return error(r.code, r.enhanced, r.lines.front());
  }
  MailCommand& m = parsed.value;
  if (m.size && *m.size > settings_.limits.max_message_size)
    return error(552, "5.3.4", "Message size exceeds fixed maximum message size");
  // An authenticated user sends only as itself (relay.sender_login_match);
  // the null sender stays allowed (bounces, read receipts).
  if (authenticated_ && m.path.kind != PathKind::Null) {
    if (auto allowed = directory_.check_sender(auth_user_, m.path.mailbox); !allowed) {
      if (allowed.error().temporary()) return reply(451, "4.3.0", "Temporary failure checking the sender, try again later");
      return error(553, "5.7.1", "<" + m.path.mailbox.to_string() + ">: Sender address rejected: not owned by user " +
                                     auth_user_);
    }
  }
  tx_ = std::make_unique<Transaction>();
  tx_->sender = m.path.kind == PathKind::Null ? "" : m.path.mailbox.to_string();
  tx_->mail = std::move(m);
  enter_state(State::Mail);
  reply(250, "2.1.0", "Sender <" + tx_->sender + "> OK");
}

void Session::do_rcpt(std::string_view arg) {
  if (!tx_ || (state_ != State::Mail && state_ != State::Rcpt)) return error(503, "5.5.1", "Need MAIL command first");
  auto parsed = parse_rcpt(arg, tx_->mail.smtputf8);
  if (!parsed.ok) {
    Reply r = parse_error_reply(parsed.error, false);
    return error(r.code, r.enhanced, r.lines.front());
  }
  RcptCommand& rc = parsed.value;
  if (tx_->rcpt_accepted >= settings_.limits.max_recipients)
    return reply(452, "4.5.3", "Too many recipients");

  std::string given;
  std::vector<std::string> targets;
  if (rc.path.kind == PathKind::Postmaster) {
    given = rc.path.mailbox.local;
    // RFC 5321 4.5.1: postmaster works even when the users cannot be read.
    auto found = directory_.local_targets(directory_.postmaster());
    if (found) targets = std::move(found.value());
    if (targets.empty()) targets.push_back(directory_.postmaster());
  } else {
    given = rc.path.mailbox.to_string();
    const Mailbox& mb = rc.path.mailbox;
    std::string domain = to_lower(mb.domain);
    bool local = !mb.domain_is_literal() && directory_.is_local_domain(domain);
    if (!mb.domain_is_literal() && directory_.consumes(mb)) {
      // Consumed by the server itself (never stored or relayed), so taking
      // it from a stranger for a foreign domain opens no relay.
      log::info("smtp.rcpt_consumed").kv("client", client_.ip).kv("recipient", given);
      targets.push_back(given);
    } else if (local) {
      // A name no mailbox can have is refused now, never 250-then-bounce.
      if (const char* why = mailbox_name_problem(mb))
        return error(550, "5.1.3", "<" + given + ">: Recipient address rejected: " + why);
      auto found = directory_.local_targets(mb.lookup_key());
      if (!found && found.error().temporary()) {
        log::warn("smtp.rcpt_deferred").kv("client", client_.ip).kv("recipient", given).kv("error", found.error().message);
        return reply(451, "4.3.0", "<" + given + ">: Temporary lookup failure, try again later");
      }
      if (!found || found->empty())
        return error(550, "5.1.1", "<" + given + ">: Recipient address rejected: User unknown");
      targets = std::move(found.value());
      // Quota (issue 11): refused only when no target has room, so an
      // alias with one full member still reaches the others (that member's
      // delivery is deferred, then bounced with 5.2.2).
      const uint64_t declared = tx_->mail.size.value_or(0);
      size_t full = 0, too_big = 0;
      for (const auto& t : targets) {
        const auto room = directory_.mailbox_room(t, declared);
        if (room == Directory::Room::Full) ++full;
        if (room == Directory::Room::TooBig) ++too_big;
      }
      if (full + too_big == targets.size()) {
        log::info("smtp.rcpt_over_quota").kv("client", client_.ip).kv("recipient", given);
        if (too_big > 0)
          return error(552, "5.2.2", "<" + given + ">: Message size exceeds the recipient's mailbox quota");
        return reply(452, "4.2.2", "<" + given + ">: Mailbox full, try again later");
      }
    } else {
      bool may_relay = (settings_.role == config::SmtpRole::Submission && authenticated_) ||
                       directory_.relay_allowed(client_.address);
      if (!may_relay) {
        log::info("smtp.relay_denied").kv("client", client_.ip).kv("recipient", given);
        return error(550, "5.7.1", "<" + given + ">: Relay access denied");
      }
      targets.push_back(given);
    }
  }
  for (auto& t : targets) {
    bool duplicate = false;
    for (const auto& existing : tx_->recipients)
      if (iequals(existing.address, t)) duplicate = true;
    if (duplicate) continue;
    queue::Recipient r;
    r.address = t;
    r.original = given;
    r.notify = rc.notify;
    r.orcpt_type = rc.orcpt_type;
    r.orcpt_address = rc.orcpt_address;
    tx_->recipients.push_back(std::move(r));
  }
  ++tx_->rcpt_accepted;
  enter_state(State::Rcpt);
  reply(250, "2.1.5", "Recipient <" + given + "> OK");
}

void Session::do_rset(std::string_view arg) {
  if (!arg.empty()) return error(501, "5.5.4", "Syntax: RSET");
  tx_.reset();
  if (state_ != State::Fresh) enter_state(State::Ready);
  reply(250, "2.0.0", "Ok");
}

void Session::do_noop(std::string_view) { reply(250, "2.0.0", "Ok"); }

void Session::do_vrfy(std::string_view arg) {
  if (arg.empty()) return error(501, "5.5.4", "Syntax: VRFY address");
  // Never reveal whether a user exists (RFC 5321 3.5.3 allows 252).
  reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
}

void Session::do_expn(std::string_view) { error(502, "5.5.1", "EXPN not supported"); }

void Session::do_help(std::string_view) {
  Reply r(214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT STARTTLS AUTH");
  r.lines.push_back("See RFC 5321");
  reply(r);
}

void Session::do_quit(std::string_view) {
  close_with(221, "2.0.0", settings_.hostname + " closing connection");
}

void Session::do_starttls(std::string_view arg) {
  if (settings_.tls_mode != config::TlsMode::StartTls) return error(502, "5.5.1", "STARTTLS not available");
  if (tls_active_) return error(503, "5.5.1", "TLS already active");
  if (!arg.empty()) return error(501, "5.5.4", "Syntax: STARTTLS");
  reply(220, "2.0.0", "Ready to start TLS");
  // Anything the client pipelined after STARTTLS was sent in clear text and
  // must not be executed inside the TLS session (CVE-2011-0411 class).
  size_t discarded = in_.size() - in_pos_;
  if (discarded > 0)
    log::warn("smtp.starttls_pipelining").kv("client", client_.ip).kv("discarded_bytes", static_cast<uint64_t>(discarded));
  in_.clear();
  in_pos_ = 0;
  enter_state(State::WaitTls);
}

void Session::tls_started(const TlsInfo& info) {
  tls_active_ = true;
  tls_ = info;
  // RFC 3207 4.2: forget everything learned before the handshake.
  tx_.reset();
  helo_.clear();
  esmtp_ = false;
  authenticated_ = false;
  auth_user_.clear();
  in_.clear();
  in_pos_ = 0;
  enter_state(State::Fresh);
}

}  // namespace volley::smtp
