// Session core: input framing, verb dispatch, state changes, replies.
#include "smtp/session.hpp"

#include "smtp/session_transaction.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::smtp {

// Command policy as a table (Postfix smtpd's cmd_table): verb, handler, the
// longest line the verb may use, and whether it is a "junk" command: one that
// moves no mail forward, which a client could repeat forever to hold a slot.
const Session::VerbPolicy Session::kVerbs[] = {
    {Verb::Helo, &Session::do_helo, kMaxCommandLine, false},
    {Verb::Ehlo, &Session::do_ehlo, kMaxCommandLine, false},
    {Verb::Mail, &Session::do_mail, kMaxEnvelopeLine, false},
    {Verb::Rcpt, &Session::do_rcpt, kMaxEnvelopeLine, false},
    {Verb::Data, &Session::do_data, kMaxCommandLine, false},
    {Verb::Bdat, &Session::do_bdat, kMaxCommandLine, false},
    {Verb::Rset, &Session::do_rset, kMaxCommandLine, true},
    {Verb::Noop, &Session::do_noop, kMaxCommandLine, true},
    {Verb::Vrfy, &Session::do_vrfy, kMaxCommandLine, true},
    {Verb::Expn, &Session::do_expn, kMaxCommandLine, false},
    {Verb::Help, &Session::do_help, kMaxCommandLine, true},
    {Verb::Quit, &Session::do_quit, kMaxCommandLine, false},
    {Verb::StartTls, &Session::do_starttls, kMaxCommandLine, false},
    {Verb::Auth, &Session::do_auth, kMaxAuthLine, false},
};

const char* state_name(Session::State s) {
  switch (s) {
    case Session::State::Fresh: return "fresh";
    case Session::State::Ready: return "ready";
    case Session::State::Mail: return "mail";
    case Session::State::Rcpt: return "rcpt";
    case Session::State::Data: return "data";
    case Session::State::Bdat: return "bdat";
    case Session::State::BdatSkip: return "bdat_skip";
    case Session::State::SaslPlain: return "sasl_plain";
    case Session::State::SaslUser: return "sasl_user";
    case Session::State::SaslPass: return "sasl_pass";
    case Session::State::WaitTls: return "wait_tls";
    case Session::State::WaitAuth: return "wait_auth";
    case Session::State::WaitCheck: return "wait_check";
    case Session::State::WaitCommit: return "wait_commit";
    case Session::State::Closed: return "closed";
  }
  return "?";
}

Session::Session(SessionSettings settings, ClientInfo client, const Directory& directory)
    : settings_(std::move(settings)), client_(std::move(client)), directory_(directory) {}

Session::~Session() = default;

void Session::start() {
  reply(220, "", settings_.hostname + " ESMTP Volley");
}

void Session::enter_state(State s) {
  if (s == state_) return;
  log::debug("smtp.state").kv("client", client_.ip).kv("from", state_name(state_)).kv("to", state_name(s));
  state_ = s;
}

void Session::reply(const Reply& r) { out_ += r.format(); }

void Session::error(int code, std::string enhanced, std::string text) {
  // One line per refusal, like Postfix's "NOQUEUE: reject:" lines.
  log::info("smtp.reject")
      .kv("client", client_.ip)
      .kv("listener", settings_.listener_name)
      .kv("command", to_upper(current_verb_.substr(0, 16)))
      .kv("from", tx_ ? tx_->sender : std::string())
      .kv("reply", std::to_string(code) + " " + enhanced)
      .kv("reason", text);
  reply(code, std::move(enhanced), std::move(text));
  // Postfix's smtpd_hard_error_limit: a client that keeps getting errors is
  // broken or probing; stop spending on it.
  count_error();
  if (errors_ >= settings_.limits.max_errors && state_ != State::Closed)
    close_with(421, "4.7.0", settings_.hostname + " Too many errors, closing connection");
}

void Session::count_error() {
  if (++errors_ > settings_.limits.errors_before_delay)
    reply_delay_ += std::chrono::duration_cast<std::chrono::milliseconds>(settings_.limits.error_delay);
}

void Session::close_with(int code, std::string enhanced, std::string text) {
  reply(code, std::move(enhanced), std::move(text));
  tx_.reset();
  pending_commit_.reset();
  drop_held_message();
  cancel_spill();
  enter_state(State::Closed);
}

std::string Session::take_output() {
  std::string s;
  s.swap(out_);
  return s;
}

void Session::receive(std::string_view bytes) {
  // Compact the consumed prefix before growing, so the buffer stays bounded by
  // one partial line (or one partial read in DATA).
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  in_.append(bytes);
}

void Session::reset_transaction() {
  tx_.reset();
  if (state_ == State::Mail || state_ == State::Rcpt || state_ == State::Data || state_ == State::Bdat)
    enter_state(State::Ready);
}

bool Session::idle() const {
  bool waiting = state_ == State::Fresh || state_ == State::Ready;
  return waiting && in_pos_ >= in_.size() && !tx_;
}

bool Session::reading_content() const {
  return state_ == State::Data || state_ == State::Bdat || state_ == State::BdatSkip;
}

void Session::timed_out() {
  if (state_ == State::Closed) return;
  log::info("smtp.timeout").kv("client", client_.ip).kv("state", state_name(state_));
  close_with(421, "4.4.2", settings_.hostname + " Error: timeout exceeded");
}

void Session::lifetime_ended() {
  if (state_ == State::Closed) return;
  log::info("smtp.lifetime").kv("client", client_.ip).kv("state", state_name(state_));
  close_with(421, "4.4.2", settings_.hostname + " Connection lifetime exceeded, closing connection");
}

void Session::shutting_down() {
  if (state_ == State::Closed) return;
  close_with(421, "4.3.2", settings_.hostname + " Service shutting down, closing connection");
}

void Session::connection_lost() {
  if (tx_ && (state_ == State::Data || state_ == State::Bdat))
    log::info("smtp.aborted").kv("client", client_.ip).kv("reason", "connection lost during message content");
  tx_.reset();
  pending_commit_.reset();
  drop_held_message();
  cancel_spill();
  enter_state(State::Closed);
}

Session::Action Session::next() {
  for (;;) {
    if (spill_request_ || orphaned_spill()) return Action::Spill;
    switch (state_) {
      case State::Closed: return Action::Close;
      case State::WaitTls: return Action::StartTls;
      case State::WaitAuth: return Action::Authenticate;
      case State::WaitCheck: return Action::Check;
      case State::WaitCommit: return Action::Commit;
      case State::Data:
        if (!feed_data()) return Action::Read;
        break;
      case State::Bdat:
      case State::BdatSkip:
        if (!feed_bdat()) return Action::Read;
        break;
      default:
        if (!process_line()) return Action::Read;
        break;
    }
  }
}

// Frames one command line. Returns false when a whole line is not buffered yet.
bool Session::process_line() {
  current_verb_ = "-";
  std::string_view pending(in_);
  pending.remove_prefix(in_pos_);
  size_t lf = pending.find('\n');
  if (lf == std::string_view::npos) {
    if (pending.size() > kMaxAuthLine) {
      // Over-long line: answer once, then drop bytes up to its end.
      if (!discarding_line_) error(500, "5.5.2", "Line too long");
      discarding_line_ = true;
      in_pos_ = in_.size();
    }
    return false;
  }
  std::string_view line = pending.substr(0, lf);
  in_pos_ += lf + 1;
  if (discarding_line_) {
    discarding_line_ = false;
    return true;
  }
  ++progress_;
  size_t wire_length = line.size() + (line.empty() || line.back() != '\r' ? 2 : 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (state_ == State::SaslPlain || state_ == State::SaslUser || state_ == State::SaslPass) {
    current_verb_ = "AUTH";
    if (wire_length > kMaxAuthLine) {
      error(500, "5.5.2", "Line too long");
      enter_state(State::Ready);
      return true;
    }
    sasl_line(line);
    return true;
  }
  if (has_forbidden_bytes(line)) {
    error(500, "5.5.2", "Syntax error: control characters or NUL in command");
    return true;
  }
  CommandLine cmd = split_command(line);
  current_verb_ = cmd.verb_text;
  for (const auto& v : kVerbs) {
    if (v.verb != cmd.verb) continue;
    if (wire_length > v.max_line) {
      error(500, "5.5.2", "Line too long");
      return true;
    }
    // Postfix's smtpd_junk_command_limit: counted per connection and reset
    // by each accepted message, so a long bulk session is never cut by it.
    if (v.junk && ++junk_commands_ > settings_.limits.max_junk_commands) {
      log::info("smtp.reject")
          .kv("client", client_.ip)
          .kv("listener", settings_.listener_name)
          .kv("command", printable(to_upper(current_verb_.substr(0, 16)), 16))
          .kv("reply", "421 4.7.0")
          .kv("reason", "too many junk commands");
      // Delayed like an error reply: a client looping on NOOP pays in time.
      reply_delay_ += std::chrono::duration_cast<std::chrono::milliseconds>(settings_.limits.error_delay);
      close_with(421, "4.7.0", settings_.hostname + " Too many junk commands, closing connection");
      return true;
    }
    (this->*v.handler)(cmd.argument);
    return true;
  }
  if (cmd.verb == Verb::HttpMethod) {
    log::info("smtp.non_smtp").kv("client", client_.ip).kv("verb", cmd.verb_text.substr(0, 16));
    close_with(500, "5.5.1", "HTTP requests are not accepted here, closing connection");
    return true;
  }
  error(500, "5.5.1", "Command unrecognized");
  return true;
}

}  // namespace volley::smtp
