// Session core: input framing, verb dispatch by state, replies, endings.
#include "pop3/session.hpp"

#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::pop3 {

// Which verbs each state accepts (Dovecot's pop3-login knows the
// AUTHORIZATION verbs, its pop3 process the TRANSACTION ones).
const Session::VerbPolicy Session::kVerbs[] = {
    {Verb::Capa, &Session::do_capa, true, true},    {Verb::Stls, &Session::do_stls, true, false},
    {Verb::User, &Session::do_user, true, false},   {Verb::Pass, &Session::do_pass, true, false},
    {Verb::Auth, &Session::do_auth, true, false},   {Verb::Apop, &Session::do_apop, true, false},
    {Verb::Stat, &Session::do_stat, false, true},   {Verb::List, &Session::do_list, false, true},
    {Verb::Uidl, &Session::do_uidl, false, true},   {Verb::Top, &Session::do_top, false, true},
    {Verb::Retr, &Session::do_retr, false, true},   {Verb::Dele, &Session::do_dele, false, true},
    {Verb::Rset, &Session::do_rset, false, true},   {Verb::Noop, &Session::do_noop, true, true},
    {Verb::Quit, &Session::do_quit, true, true},
};

const char* state_name(Session::State s) {
  switch (s) {
    case Session::State::Authorization: return "authorization";
    case Session::State::SaslPlain: return "sasl_plain";
    case Session::State::WaitTls: return "wait_tls";
    case Session::State::WaitAuth: return "wait_auth";
    case Session::State::WaitOpen: return "wait_open";
    case Session::State::Transaction: return "transaction";
    case Session::State::Sending: return "sending";
    case Session::State::Listing: return "listing";
    case Session::State::WaitCommit: return "update";
    case Session::State::Closed: return "closed";
  }
  return "?";
}

Session::Session(SessionSettings settings, std::string client_ip)
    : settings_(std::move(settings)), client_ip_(std::move(client_ip)) {}

Session::~Session() = default;

void Session::start() { ok("Volley ready."); }

void Session::enter_state(State s) {
  if (s == state_) return;
  log::debug("pop3.state").kv("client", client_ip_).kv("from", state_name(state_)).kv("to", state_name(s));
  state_ = s;
}

void Session::ok(std::string_view text) {
  out_.append("+OK");
  if (!text.empty()) {
    out_.push_back(' ');
    out_.append(text);
  }
  out_.append("\r\n");
}

void Session::err(std::string_view text) {
  out_.append("-ERR ");
  out_.append(text);
  out_.append("\r\n");
}

void Session::bad(std::string_view text) {
  err(text);
  // Dovecot's CLIENT_MAX_BAD_COMMANDS: a client that keeps sending what no
  // POP3 client sends is broken or probing; stop spending on it.
  if (++bad_commands_ >= kMaxBadCommands && state_ != State::Closed) {
    log::info("pop3.too_many_bad_commands").kv("client", client_ip_).kv("listener", settings_.listener_name);
    close_with("-ERR Too many bad commands.");
  }
}

void Session::close_with(std::string_view line) {
  if (!line.empty()) {
    out_.append(line);
    out_.append("\r\n");
  }
  reader_.reset();
  encoder_.reset();
  enter_state(State::Closed);
}

std::string Session::take_output() {
  std::string s;
  s.swap(out_);
  return s;
}

void Session::receive(std::string_view bytes) {
  // Compact the consumed prefix first: the buffer stays bounded by one
  // partial line plus one read.
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  in_.append(bytes);
}

bool Session::idle() const {
  return (state_ == State::Authorization || state_ == State::Transaction) && in_pos_ >= in_.size();
}

void Session::tls_started() {
  tls_active_ = true;
  // RFC 2595 4: nothing from before the handshake carries over.
  user_.clear();
  if (state_ == State::WaitTls) enter_state(State::Authorization);
}

void Session::timed_out() {
  if (state_ == State::Closed) return;
  log::info("pop3.timeout").kv("client", client_ip_).kv("state", state_name(state_));
  close_with("-ERR Disconnected for inactivity.");
}

void Session::shutting_down() {
  if (state_ == State::Closed) return;
  close_with("-ERR Server shutting down.");
}

void Session::lifetime_ended() {
  if (state_ == State::Closed) return;
  log::info("pop3.lifetime").kv("client", client_ip_).kv("state", state_name(state_));
  close_with("-ERR Connection lifetime exceeded.");
}

void Session::connection_lost() {
  if (maildrop_ && state_ != State::Closed)
    log::info("pop3.aborted").kv("client", client_ip_).kv("user", user_).kv("reason", "connection lost, nothing committed");
  close_with("");
}

std::unique_ptr<Maildrop> Session::release_maildrop() {
  reader_.reset();
  return std::move(maildrop_);
}

Session::Action Session::next() {
  for (;;) {
    switch (state_) {
      case State::Closed: return Action::Close;
      case State::WaitTls: return Action::StartTls;
      case State::WaitAuth: return Action::Authenticate;
      case State::WaitOpen: return Action::Open;
      case State::Sending: return Action::Fetch;
      case State::Listing:
        if (out_.size() >= kOutputHighWater) return Action::Flush;
        continue_listing();
        break;
      case State::WaitCommit: return Action::Commit;
      case State::Authorization:
      case State::SaslPlain:
      case State::Transaction:
        if (out_.size() >= kOutputHighWater) return Action::Flush;
        if (!process_line()) return Action::Read;
        break;
    }
  }
}

// Frames one line. False when a whole line is not buffered yet.
bool Session::process_line() {
  std::string_view pending(in_);
  pending.remove_prefix(in_pos_);
  const size_t lf = pending.find('\n');
  if (lf == std::string_view::npos) {
    if (pending.size() > kMaxAuthLine) {
      // Answer once, then drop bytes up to the line's end.
      if (!discarding_line_) bad("Line too long.");
      discarding_line_ = true;
      in_pos_ = in_.size();
      if (state_ == State::SaslPlain) enter_state(State::Authorization);
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
  const size_t wire_length = line.size() + (line.empty() || line.back() != '\r' ? 2 : 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (state_ == State::SaslPlain) {
    sasl_line(line);
    return true;
  }
  if (has_forbidden_bytes(line)) {
    bad("Invalid characters in command.");
    return true;
  }
  const CommandLine cmd = parse_command(line);
  if (wire_length > (cmd.verb == Verb::Auth ? kMaxAuthLine : kMaxCommandLine)) {
    bad("Line too long.");
    return true;
  }
  for (const auto& v : kVerbs) {
    if (v.verb != cmd.verb) continue;
    const bool allowed = state_ == State::Authorization ? v.authorization : v.transaction;
    if (!allowed) {
      bad(state_ == State::Authorization ? "Not logged in." : "Command not valid in this state.");
      return true;
    }
    (this->*v.handler)(cmd);
    return true;
  }
  bad("Unknown command.");
  return true;
}

}  // namespace volley::pop3
