#include "admin/queue_command.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "admin/admin_client.hpp"
#include "admin/admin_protocol.hpp"
#include "admin/protocol_json.hpp"
#include "util/result.hpp"
#include "util/strings.hpp"

namespace volley::admin {
namespace {

using json = nlohmann::ordered_json;

using protocol_json::dump;

Result<json> call(const std::string& data_dir, const std::string& request) { return call_daemon(data_dir, request); }

// Typed reads that tolerate missing fields (a newer or older daemon).
std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}
bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
const json& sub(const json& j, const char* key) {
  static const json empty = json::object();
  auto it = j.find(key);
  return it != j.end() ? *it : empty;
}

// Display width of UTF-8 text: code points, not bytes, so columns line up
// for internationalised addresses (wide characters aside).
size_t width(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string pad(const std::string& s, size_t w, bool right = false) {
  size_t n = width(s);
  if (n >= w) return s;
  return right ? std::string(w - n, ' ') + s : s + std::string(w - n, ' ');
}

// Long senders would push every other column off screen.
std::string clip(const std::string& s, size_t max) {
  if (width(s) <= max) return s;
  std::string out;
  size_t w = 0;
  for (char c : s) {
    bool starts = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts && ++w > max - 3) break;
    out += c;
  }
  return out + "...";
}

std::string display_sender(const std::string& sender) { return sender.empty() ? "<>" : terminal_safe(sender); }

std::string utc_time(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  if (!::gmtime_r(&tt, &tm)) return std::to_string(t);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

int64_t now() { return static_cast<int64_t>(::time(nullptr)); }

int do_list(const QueueCommand& cmd, const json& answer, std::ostream& out) {
  auto it = answer.find("messages");
  const json messages = it != answer.end() && it->is_array() ? *it : json::array();
  if (cmd.json) {
    out << dump(messages) << "\n";
    return 0;
  }
  bool filtered = !cmd.state.empty() || !cmd.domain.empty();
  if (messages.empty()) {
    out << (filtered ? "no messages match\n" : "queue is empty\n");
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"ID", "AGE", "SENDER", "RCPTS", "SIZE", "STATE"});
  uint64_t total = 0;
  int64_t t = now();
  for (const auto& m : messages) {
    auto size = static_cast<uint64_t>(std::max<int64_t>(0, num(m, "size")));
    total += size;
    rows.push_back({terminal_safe(str(m, "id")), format_age(t - num(m, "received_at")),
                    clip(display_sender(str(m, "sender")), 40), std::to_string(num(m, "recipients")),
                    format_size(size), terminal_safe(str(m, "state"))});
  }
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], width(r[i]));
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      bool numeric = i == 3 || i == 4;  // RCPTS and SIZE align right
      line += (i + 1 == r.size()) ? r[i] : pad(r[i], w[i], numeric) + "  ";
    }
    out << line << "\n";
  }
  out << "Total: " << messages.size() << (messages.size() == 1 ? " message, " : " messages, ") << format_size(total)
      << (filtered ? " (filtered)" : "") << "\n";
  return 0;
}

void show_field(std::ostream& out, const char* label, const std::string& value) {
  out << "  " << pad(label, 11) << value << "\n";
}

int do_show(const QueueCommand& cmd, const json& answer, std::ostream& out) {
  const json& m = sub(answer, "message");
  if (cmd.json) {
    out << dump(m) << "\n";
    return 0;
  }
  const json& env = sub(m, "envelope");
  const json& meta = sub(m, "metadata");
  int64_t received = num(meta, "received_at");
  auto size = static_cast<uint64_t>(std::max<int64_t>(0, num(m, "size")));

  out << "Message " << terminal_safe(str(m, "id")) << "\n";
  show_field(out, "Received", utc_time(received) + " (" + format_age(now() - received) + " ago)");
  show_field(out, "Size", format_size(size) + " (" + std::to_string(size) + " bytes)");

  out << "\nEnvelope\n";
  show_field(out, "Sender", display_sender(str(env, "sender")));
  std::string dsn;
  // Built piecewise: GCC 12 at -O3 reports a false -Wrestrict on "lit" + std::string here.
  if (!str(env, "dsn_ret").empty()) {
    dsn += "RET=";
    dsn += terminal_safe(str(env, "dsn_ret"));
  }
  if (!str(env, "dsn_envid").empty()) {
    if (!dsn.empty()) dsn += ' ';
    dsn += "ENVID=";
    dsn += terminal_safe(str(env, "dsn_envid"));
  }
  show_field(out, "DSN", dsn.empty() ? "-" : dsn);
  show_field(out, "SMTPUTF8", flag(env, "smtputf8") ? "yes" : "no");
  show_field(out, "8BITMIME", flag(env, "eight_bit") ? "yes" : "no");

  const json& rcpts = sub(env, "recipients");
  out << "\nRecipients (" << (rcpts.is_array() ? rcpts.size() : 0) << ")\n";
  if (rcpts.is_array()) {
    for (const auto& r : rcpts) {
      out << "  " << terminal_safe(str(r, "address")) << "  " << terminal_safe(str(r, "state")) << "\n";
      std::string original = str(r, "original");
      if (!original.empty() && original != str(r, "address")) out << "      original: " << terminal_safe(original) << "\n";
      std::string notify;
      if (auto n = r.find("notify"); n != r.end() && n->is_array())
        for (const auto& k : *n)
          if (k.is_string()) {
            if (!notify.empty()) notify += ',';
            notify += terminal_safe(k.get<std::string>());
          }
      if (!notify.empty()) out << "      notify: " << notify << "\n";
      if (!str(r, "orcpt").empty()) out << "      orcpt: " << terminal_safe(str(r, "orcpt")) << "\n";
    }
  }

  auto or_dash = [](const std::string& s) { return s.empty() ? std::string("-") : terminal_safe(s); };
  out << "\nMetadata\n";
  show_field(out, "Client IP", or_dash(str(meta, "client_ip")));
  show_field(out, "HELO", or_dash(str(meta, "helo")));
  show_field(out, "TLS", or_dash(str(meta, "tls")));
  show_field(out, "Auth user", or_dash(str(meta, "auth_user")));
  show_field(out, "Listener", or_dash(str(meta, "listener")));

  const json& attempts = sub(m, "attempts");
  out << "\nAttempts (" << (attempts.is_array() ? attempts.size() : 0) << ")\n";
  if (attempts.is_array())
    for (const auto& a : attempts)
      out << "  " << utc_time(num(a, "at")) << "  " << terminal_safe(str(a, "recipient")) << "  "
          << terminal_safe(str(a, "status")) << "  " << or_dash(str(a, "relay")) << "  " << or_dash(str(a, "reply")) << "\n";

  out << "\nHeaders\n";
  const std::string hdrs = str(m, "headers");
  size_t pos = 0;
  while (pos < hdrs.size()) {
    size_t nl = hdrs.find('\n', pos);
    std::string_view l = std::string_view(hdrs).substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    out << "  " << terminal_safe(l) << "\n";
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  if (flag(m, "headers_truncated"))
    out << "  [header block cut at " << format_size(admin::kMaxHeaderBytes) << "]\n";
  return 0;
}

// retry/flush: "retry: 3 message(s) scheduled now".
int do_scheduled(const QueueCommand& cmd, const json& answer, std::ostream& out) {
  int64_t count = std::max<int64_t>(0, num(answer, "count"));
  if (cmd.json) {
    out << dump(json{{"count", count}}) << "\n";
    return 0;
  }
  std::string what = cmd.action;
  if (cmd.action == "flush") {
    what += ' ';
    what += terminal_safe(to_lower(cmd.domain));
  }
  out << what << ": " << count << " message(s) scheduled now\n";
  return 0;
}

}  // namespace

std::string format_age(int64_t s) {
  if (s < 0) s = 0;  // clock adjusted since the message arrived
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  if (s < 86400) return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
  return std::to_string(s / 86400) + "d";
}

std::string format_size(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + "B";
  static constexpr char kUnits[] = "KMGTPE";
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  for (v /= 1024; v >= 1024 && unit + 1 < sizeof kUnits - 1; ++unit) v /= 1024;
  char buf[32];
  // One decimal while it is informative (ls -h style), whole numbers beyond.
  if (v < 10) std::snprintf(buf, sizeof buf, "%.1f%c", v, kUnits[unit]);
  else std::snprintf(buf, sizeof buf, "%.0f%c", v, kUnits[unit]);
  return buf;
}

std::string terminal_safe(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7F) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      // U+0080..U+009F: C1 controls, which some terminals obey (8-bit CSI).
      auto c1 = static_cast<unsigned char>(s[++i]);
      out += "\\u00";
      out += hex[c1 >> 4];
      out += hex[c1 & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool notify_users_changed(const std::string& data_dir) { return call(data_dir, make_users_changed_request()).ok(); }

int run_queue_command(const QueueCommand& cmd, const std::string& data_dir, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& reason) {
    err << "volley: queue " << cmd.action << ": " << reason << "\n";
    return 1;
  };
  std::string request;
  if (cmd.action == "list") {
    queue::ListFilter filter;
    filter.state = cmd.state;
    filter.domain = cmd.domain;
    filter.limit = cmd.limit;
    request = admin::make_list_request(filter);
  } else if (cmd.action == "show") {
    request = admin::make_show_request(cmd.id);
  } else if (cmd.action == "delete") {
    request = admin::make_delete_request(cmd.id);
  } else if (cmd.action == "retry") {
    // Checked before connecting, so the reason names the CLI's own --all;
    // a forgotten ID must never turn into "retry everything".
    if (cmd.all && !cmd.id.empty()) return fail("give a queue id or --all, not both");
    if (!cmd.all && cmd.id.empty()) return fail("give a queue id, or --all for every deferred message");
    request = cmd.all ? admin::make_retry_all_request() : admin::make_retry_request(cmd.id);
  } else if (cmd.action == "flush") {
    // SPEC section 7: a bare `volley queue flush` flushes the whole queue,
    // like Postfix's `postqueue -f`.
    request = cmd.domain.empty() ? admin::make_retry_all_request() : admin::make_flush_request(cmd.domain);
  } else {
    return fail("unknown action");
  }
  auto answer = call(data_dir, request);
  if (!answer) return fail(answer.error().message);
  if (cmd.action == "list") return do_list(cmd, answer.value(), out);
  if (cmd.action == "show") return do_show(cmd, answer.value(), out);
  if (cmd.action == "retry" || cmd.action == "flush") return do_scheduled(cmd, answer.value(), out);
  out << "deleted " << terminal_safe(str(answer.value(), "id")) << "\n";
  return 0;
}

}  // namespace volley::admin
