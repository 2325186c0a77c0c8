#include "queue/envelope.hpp"

#include <charconv>
#include <string_view>

namespace volley::queue {
namespace {

// Percent-escape everything outside printable ASCII, plus '%' and space, so a
// value is always one token on one line whatever the client sent.
std::string escape(std::string_view v) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    if (c <= 0x20 || c >= 0x7f || c == '%') {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.empty()) out.push_back('%');  // "%" alone stands for the empty string
  return out;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool unescape(std::string_view v, std::string& out) {
  out.clear();
  if (v == "%") return true;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return false;
    int hi = hexval(v[i + 1]), lo = hexval(v[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

void line(std::string& out, std::string_view key, std::string_view value) {
  out.append(key);
  out += ' ';
  out += escape(value);
  out += '\n';
}

const char* state_name(RecipientState s) {
  switch (s) {
    case RecipientState::Pending: return "pending";
    case RecipientState::Delivered: return "delivered";
    case RecipientState::Deferred: return "deferred";
    case RecipientState::Bounced: return "bounced";
  }
  return "pending";
}

bool parse_state(std::string_view s, RecipientState& out) {
  if (s == "pending") out = RecipientState::Pending;
  else if (s == "delivered") out = RecipientState::Delivered;
  else if (s == "deferred") out = RecipientState::Deferred;
  else if (s == "bounced") out = RecipientState::Bounced;
  else return false;
  return true;
}

// Splits `rest` into exactly N space-separated fields; the last takes what
// remains (values are escaped, so it holds no space of its own).
template <size_t N>
bool split_fields(std::string_view rest, std::string_view (&parts)[N]) {
  for (size_t i = 0; i + 1 < N; ++i) {
    size_t e = rest.find(' ');
    if (e == std::string_view::npos) return false;
    parts[i] = rest.substr(0, e);
    rest.remove_prefix(e + 1);
  }
  parts[N - 1] = rest;
  return true;
}

template <class Int>
bool parse_int(std::string_view s, Int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

bool all_final(const Envelope& env) {
  for (const auto& r : env.recipients)
    if (r.state == RecipientState::Pending || r.state == RecipientState::Deferred) return false;
  return true;
}

bool any_deferred(const Envelope& env) {
  for (const auto& r : env.recipients)
    if (r.state == RecipientState::Deferred) return true;
  return false;
}

std::string serialize_envelope(const Envelope& env) {
  std::string out;
  line(out, "id", env.id);
  line(out, "sender", env.sender);
  line(out, "dsn_ret", env.dsn_ret);
  line(out, "dsn_envid", env.dsn_envid);
  line(out, "smtputf8", env.smtputf8 ? "1" : "0");
  line(out, "eight_bit", env.eight_bit ? "1" : "0");
  line(out, "client_ip", env.client_ip);
  line(out, "helo", env.helo);
  line(out, "tls", env.tls);
  line(out, "auth_user", env.auth_user);
  line(out, "listener", env.listener);
  line(out, "received_at", std::to_string(env.received_at));
  if (env.deferrals) line(out, "deferrals", std::to_string(env.deferrals));
  if (env.next_attempt) line(out, "next_attempt", std::to_string(env.next_attempt));
  if (!env.folder.empty()) line(out, "folder", env.folder);
  if (env.tracked) line(out, "tracked", "1");
  if (!env.campaign.empty()) line(out, "campaign", env.campaign);
  for (const auto& r : env.recipients) {
    // rcpt <address> <original> <notify> <orcpt_type> <orcpt_address> <state>
    out += "rcpt " + escape(r.address) + ' ' + escape(r.original) + ' ' + std::to_string(r.notify) + ' ' +
           escape(r.orcpt_type) + ' ' + escape(r.orcpt_address) + ' ' + state_name(r.state) + '\n';
  }
  for (const auto& a : env.attempts) {
    // attempt <at> <recipient> <status> <relay> <reply>
    out += "attempt " + std::to_string(a.at) + ' ' + escape(a.recipient) + ' ' + escape(a.status) + ' ' +
           escape(a.relay) + ' ' + escape(a.reply) + '\n';
  }
  return out;
}

bool parse_envelope(std::string_view text, Envelope& env) {
  env = Envelope{};
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;
    std::string_view l = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    size_t sp = l.find(' ');
    if (sp == std::string_view::npos) return false;
    std::string_view key = l.substr(0, sp), rest = l.substr(sp + 1);
    std::string v;
    if (key == "attempt") {
      std::string_view parts[5];
      if (!split_fields(rest, parts)) return false;
      Attempt a;
      if (!parse_int(parts[0], a.at) || !unescape(parts[1], a.recipient) || !unescape(parts[2], a.status) ||
          !unescape(parts[3], a.relay) || !unescape(parts[4], a.reply))
        return false;
      env.attempts.push_back(std::move(a));
      continue;
    }
    if (key == "rcpt") {
      std::string_view parts[6];
      if (!split_fields(rest, parts)) return false;
      Recipient r;
      if (!unescape(parts[0], r.address) || !unescape(parts[1], r.original) || !parse_int(parts[2], r.notify) ||
          !unescape(parts[3], r.orcpt_type) || !unescape(parts[4], r.orcpt_address) || !parse_state(parts[5], r.state))
        return false;
      env.recipients.push_back(std::move(r));
      continue;
    }
    if (!unescape(rest, v)) return false;
    if (key == "id") env.id = v;
    else if (key == "sender") env.sender = v;
    else if (key == "dsn_ret") env.dsn_ret = v;
    else if (key == "dsn_envid") env.dsn_envid = v;
    else if (key == "smtputf8") env.smtputf8 = (v == "1");
    else if (key == "eight_bit") env.eight_bit = (v == "1");
    else if (key == "client_ip") env.client_ip = v;
    else if (key == "helo") env.helo = v;
    else if (key == "tls") env.tls = v;
    else if (key == "auth_user") env.auth_user = v;
    else if (key == "listener") env.listener = v;
    else if (key == "folder") env.folder = v;
    else if (key == "tracked") env.tracked = (v == "1");
    else if (key == "campaign") env.campaign = v;
    else if (key == "received_at") {
      if (!parse_int(std::string_view(v), env.received_at)) return false;
    } else if (key == "deferrals") {
      if (!parse_int(std::string_view(v), env.deferrals)) return false;
    } else if (key == "next_attempt") {
      if (!parse_int(std::string_view(v), env.next_attempt)) return false;
    }
    // Unknown keys are skipped: a newer writer may add fields.
  }
  return !env.id.empty();
}

}  // namespace volley::queue
