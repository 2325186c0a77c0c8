// volley.toml: parse with toml++, then validate every key against the field
// tables below and in config_listeners.cpp / config_delivery.cpp. Errors are
// collected and the earliest one in the file is returned, so the operator
// fixes the file top to bottom; checks that span sections (aliases against
// domains.local, "no listener") run only once every section read cleanly, so
// they never report a consequence of an earlier mistake.
#include "config/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "config/config_sections.hpp"
#include "util/strings.hpp"

namespace volley::config {
namespace {

using namespace detail;
using namespace std::chrono_literals;
constexpr size_t kMaxFileSize = 16 * 1024 * 1024;  // a config this big is not a config

std::string default_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) == 0 && valid_domain(buf)) return buf;
  return "localhost";
}

// ---- [server], [log] ----

// A system account name as useradd accepts it (letters, digits, '_', '-',
// '.', not starting with '-'; 32 octets): or "" for "do not switch".
bool valid_user_name(std::string_view s) {
  if (s.empty()) return true;
  if (s.size() > 32 || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

const std::vector<Field<ServerSection>>& server_fields() {
  static const std::vector<Field<ServerSection>> fields = {
      field("hostname", &ServerSection::hostname,
            string_where(valid_domain, "a hostname of letters, digits, '-' and '.'")),
      field("data_dir", &ServerSection::data_dir, string_where(nonempty, "a directory path")),
      field("threads", &ServerSection::threads, integer(0, 1024)),
      field("shutdown_timeout", &ServerSection::shutdown_timeout, duration_at_least(1ms)),
      field("user", &ServerSection::user, string_where(valid_user_name, "a user name like \"volley\" (or \"\")")),
  };
  return fields;
}

const std::vector<Field<LogSection>>& log_fields() {
  static const std::vector<Field<LogSection>> fields = {
      field("format", &LogSection::format, one_of<LogFormat>({{"kv", LogFormat::KeyValue}, {"json", LogFormat::Json}})),
      field("level", &LogSection::level,
            one_of<std::string>({{"debug", "debug"}, {"info", "info"}, {"warn", "warn"}, {"error", "error"}})),
  };
  return fields;
}

// ---- [tls] ----

const std::vector<Field<TlsSection>>& tls_fields() {
  static const std::vector<Field<TlsSection>> fields = {
      field("cert", &TlsSection::cert, read_string),
      field("key", &TlsSection::key, read_string),
      field("min_version", &TlsSection::min_version, one_of<std::string>({{"1.2", "1.2"}, {"1.3", "1.3"}})),
  };
  return fields;
}

// Why `path` cannot be used as a certificate or key file, or "" if it can.
// O_NONBLOCK: opening a FIFO must not hang start-up.
std::string unreadable_reason(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::strerror(errno);
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  return regular ? "" : "not a regular file";
}

void read_tls(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  auto t = read_table_node(d, n, key);
  if (!t) return;
  TlsSection& tls = out.cfg.tls;
  const size_t errors_before = d.count();
  read_fields(d, *t, key, tls_fields(), tls);
  if (d.count() != errors_before) return;
  // Empty pair = self-signed; half a pair is a mistake, not a request for one.
  if (tls.cert.empty() != tls.key.empty()) {
    const char* missing = tls.cert.empty() ? "cert" : "key";
    return d.add(*t, join_key(key, missing), "set both tls.cert and tls.key, or neither (self-signed)");
  }
  // Checked now so a typo fails at start-up rather than at the first STARTTLS.
  const std::pair<const char*, const std::string*> files[] = {{"cert", &tls.cert}, {"key", &tls.key}};
  for (const auto& [which, path] : files) {
    if (path->empty()) continue;
    if (auto why = unreadable_reason(*path); !why.empty())
      d.add(*t->get(which), join_key(key, which), "cannot read \"" + *path + "\": " + why);
  }
}

// ---- [limits] ----

const std::vector<Field<Limits>>& limits_fields() {
  static const std::vector<Field<Limits>> fields = {
      field("max_message_size", &Limits::max_message_size, size_at_least(1)),
      field("max_recipients", &Limits::max_recipients, integer(1, kU32Max)),
      field("max_connections", &Limits::max_connections, integer(1, kU32Max)),
      field("max_connections_per_ip", &Limits::max_connections_per_ip, integer(1, kU32Max)),
      field("max_auth_failures", &Limits::max_auth_failures, integer(1, kU32Max)),
      field("command_timeout", &Limits::command_timeout, duration_at_least(1ms)),
      field("data_timeout", &Limits::data_timeout, duration_at_least(1ms)),
      // RFC 5321 4.5.3.1.6: a server must accept text lines of 1000 octets.
      field("max_line_length", &Limits::max_line_length, size_at_least(1000)),
      field("max_errors", &Limits::max_errors, integer(1, kU32Max)),
      field("auth_failure_delay", &Limits::auth_failure_delay, duration_at_least(0ms)),
      field("auth_failure_max_delay", &Limits::auth_failure_max_delay, duration_at_least(0ms)),
      field("auth_failure_window", &Limits::auth_failure_window, duration_at_least(1ms)),
      field("errors_before_delay", &Limits::errors_before_delay, integer(0, kU32Max)),
      field("error_delay", &Limits::error_delay, duration_at_least(0ms)),
      field("max_junk_commands", &Limits::max_junk_commands, integer(1, kU32Max)),
      field("max_connection_lifetime", &Limits::max_connection_lifetime, duration_at_least(1000ms)),
      field("min_data_rate", &Limits::min_data_rate, size_at_least(0)),
      field("listen_backlog", &Limits::listen_backlog, integer(1, 65535)),
      // Below 64 KiB nearly every message would pay for a body file and its sync.
      field("message_memory_threshold", &Limits::message_memory_threshold, size_at_least(64 * 1024)),
      field("max_auth_failures_per_ip", &Limits::max_auth_failures_per_ip, integer(0, kU32Max)),
      field("auth_failures_per_ip_window", &Limits::auth_failures_per_ip_window, duration_at_least(1ms)),
  };
  return fields;
}

void read_limits(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  auto t = read_table_node(d, n, key);
  if (!t) return;
  Limits& l = out.cfg.limits;
  const size_t errors_before = d.count();
  read_fields(d, *t, key, limits_fields(), l);
  if (d.count() != errors_before || l.auth_failure_max_delay >= l.auth_failure_delay) return;
  const char* which = t->contains("auth_failure_max_delay") ? "auth_failure_max_delay" : "auth_failure_delay";
  d.add(*t->get(which), join_key(key, which), "limits.auth_failure_max_delay must not be below limits.auth_failure_delay");
}

// ---- [domains] ----

void apply_local_domains(Diag& d, const toml::node& n, const std::string& key, Config& cfg) {
  auto items = read_string_array(d, n, key);
  if (!items) return;
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& [text, node] = (*items)[i];
    const std::string k = key + "[" + std::to_string(i) + "]";
    if (!text.empty() && text.back() == '.') {
      d.add(*node, k, "write \"" + printable(text) + "\" without the trailing dot");
    } else if (!valid_domain(text)) {
      d.add(*node, k, "expected a domain name, got \"" + printable(text) + "\"");
    } else {
      const std::string domain = to_lower(text);
      auto& list = cfg.local_domains;
      if (std::find(list.begin(), list.end(), domain) == list.end()) list.push_back(domain);
    }
  }
}

void read_domains(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  static const std::vector<Field<Config>> fields = {{"local", apply_local_domains}};
  if (auto t = read_table_node(d, n, key)) read_fields(d, *t, key, fields, out.cfg);
}

// ---- [aliases] ----

// The targets of one alias: a string or an array of strings, each an address.
std::vector<std::string> read_alias_targets(Diag& d, const toml::node& v, const std::string& key) {
  std::vector<std::pair<std::string, const toml::node*>> items;
  if (v.is_string()) {
    if (auto s = read_string(d, v, key)) items.emplace_back(*s, &v);
  } else if (v.is_array()) {
    if (auto list = read_string_array(d, v, key)) items = std::move(*list);
  } else {
    d.add(v, key, "expected an address or an array of addresses, got " + describe(v));
    return {};
  }
  std::vector<std::string> targets;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& [text, node] = items[i];
    const std::string k = v.is_array() ? key + "[" + std::to_string(i) + "]" : key;
    if (!valid_address(text)) {
      d.add(*node, k, "expected an address like \"user@example.com\", got \"" + printable(text) + "\"");
      continue;
    }
    const std::string target = lower_domain(text);
    if (std::find(targets.begin(), targets.end(), target) == targets.end()) targets.push_back(target);
  }
  if (targets.empty() && v.is_array() && v.as_array()->empty()) d.add(v, key, "needs at least one target address");
  return targets;
}

void read_aliases(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  auto t = read_table_node(d, n, key);
  if (!t) return;
  for (auto&& [k, v] : *t) {
    PendingAlias a{to_lower(k.str()), join_key(key, k.str()), std::max<uint32_t>(1, k.source().begin.line), {}};
    if (a.address != "postmaster" && !valid_address(a.address)) {
      d.add(a.line, a.dotted, "expected an address like \"user@example.com\" (or \"postmaster\") as the alias");
      continue;
    }
    a.targets = read_alias_targets(d, v, a.dotted);
    out.aliases.push_back(std::move(a));
  }
}

// Aliases are only for addresses we deliver locally: anything else would never
// be consulted, so it is almost certainly a typo in the domain.
void resolve_aliases(Diag& d, Draft& draft) {
  Config& cfg = draft.cfg;
  std::map<std::string, std::string> first_key;  // resolved address -> key that defined it
  for (auto& a : draft.aliases) {
    std::string address = a.address;
    if (address == "postmaster") {
      // RFC 5321 4.5.1: "RCPT TO:<Postmaster>" without a domain must work.
      if (cfg.local_domains.empty()) {
        d.add(a.line, a.dotted, "\"postmaster\" without a domain needs at least one domains.local entry");
        continue;
      }
      address += "@" + cfg.local_domains.front();
    }
    const std::string domain = address.substr(address.rfind('@') + 1);
    auto& local = cfg.local_domains;
    if (std::find(local.begin(), local.end(), domain) == local.end()) {
      d.add(a.line, a.dotted, "\"" + domain + "\" is not in domains.local");
      continue;
    }
    if (auto [it, fresh] = first_key.emplace(address, a.dotted); !fresh) {
      d.add(a.line, a.dotted, "\"" + address + "\" is already defined by " + it->second);
      continue;
    }
    cfg.aliases[address] = a.targets;
  }
}

// ---- the file ----

template <class Sub>
Field<Draft> section(std::string_view key, Sub Config::*member, const std::vector<Field<Sub>>& (*fields)()) {
  return {key, [member, fields](Diag& d, const toml::node& n, const std::string& k, Draft& out) {
            if (auto t = read_table_node(d, n, k)) read_fields(d, *t, k, fields(), out.cfg.*member);
          }};
}

const std::vector<Field<Draft>>& top_fields() {
  static const std::vector<Field<Draft>> fields = {
      section("server", &Config::server, server_fields),
      section("log", &Config::log, log_fields),
      {"listener", read_listeners},
      {"tls", read_tls},
      {"limits", read_limits},
      {"domains", read_domains},
      {"aliases", read_aliases},
      {"relay", read_relay},
      {"queue", read_queue},
      {"delivery", read_delivery},
      {"dkim", read_dkim},
      {"inbound", read_inbound},
      {"mailbox", read_mailbox},
      {"api", read_api},
  };
  return fields;
}

void cross_checks(Diag& d, Draft& draft) {
  // A daemon that listens nowhere is a mistake; the no-file development mode
  // (development_default) is the way to get a default set of listeners.
  if (draft.cfg.listeners.empty()) d.add(1, "listener", "no [[listener]] configured");
  resolve_aliases(d, draft);
}

}  // namespace

namespace detail {

std::string lower_domain(std::string_view address) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return std::string(address);
  return std::string(address.substr(0, at + 1)) + to_lower(address.substr(at + 1));
}

}  // namespace detail

Result<Config> load_string(std::string_view toml_text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(name));
  } catch (const toml::parse_error& e) {
    const uint32_t line = std::max<uint32_t>(1, e.source().begin.line);
    return make_error(name + ":" + std::to_string(line) + ": " + std::string(e.description()));
  }
  Diag d(name);
  Draft draft;
  draft.cfg.source_path = name;
  draft.cfg.server.hostname = default_hostname();
  read_fields(d, root, "", top_fields(), draft);
  if (!d.any()) cross_checks(d, draft);
  if (d.any()) return make_error(d.first());
  return std::move(draft.cfg);
}

Result<Config> load_file(const std::string& path) {
  const auto cannot_read = [&](int err) { return make_error(path + ": cannot read: " + std::strerror(err)); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // blocking: "--config <(...)" is a pipe
  if (fd < 0) return cannot_read(errno);
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int err = errno;
      ::close(fd);
      return cannot_read(err);
    }
    if (got == 0) break;
    text.append(buf, static_cast<size_t>(got));
    if (text.size() > kMaxFileSize) {
      ::close(fd);
      return cannot_read(EFBIG);
    }
  }
  ::close(fd);
  return load_string(text, path);
}

Config development_default() {
  Config c;
  c.server.hostname = default_hostname();
  c.server.data_dir = "./volley-data";
  c.listeners = {
      Listener{.name = "smtp", .address = "127.0.0.1:2525", .host = "127.0.0.1", .port = 2525,
               .protocol = Protocol::Smtp, .role = SmtpRole::Mx, .tls = TlsMode::StartTls,
               .require_tls_for_auth = true},
      Listener{.name = "submission", .address = "127.0.0.1:2587", .host = "127.0.0.1", .port = 2587,
               .protocol = Protocol::Smtp, .role = SmtpRole::Submission, .tls = TlsMode::StartTls,
               .require_tls_for_auth = true},
      Listener{.name = "pop3", .address = "127.0.0.1:2110", .host = "127.0.0.1", .port = 2110,
               .protocol = Protocol::Pop3, .role = SmtpRole::Mx, .tls = TlsMode::StartTls,
               .require_tls_for_auth = true},
      // Plain HTTP on loopback: a developer's curl needs no certificate.
      Listener{.name = "http", .address = "127.0.0.1:8025", .host = "127.0.0.1", .port = 8025,
               .protocol = Protocol::Http, .role = SmtpRole::Mx, .tls = TlsMode::None,
               .require_tls_for_auth = true},
  };
  c.local_domains = {"localhost.test"};
  // A developer's instance does no DNS lookups for inbound mail: without a
  // config file there is no private resolver to point them at, and a trial
  // message must not wait for (or be refused over) an unreachable one.
  c.inbound = {.spf = false, .dkim_verify = false, .dmarc = DmarcMode::Off};
  return c;
}

}  // namespace volley::config
