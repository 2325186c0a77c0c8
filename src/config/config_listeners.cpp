// [[listener]] tables: one per listening socket.
#include "config/config_sections.hpp"
#include "net/cidr.hpp"
#include "util/strings.hpp"

namespace volley::config::detail {
namespace {

// Names appear unquoted in key=value log lines and metric labels.
bool valid_listener_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return false;
  return true;
}

// "0.0.0.0:25", "[::]:587", "localhost:2525". The host must be an IP literal
// (we bind it, so a DNS name would make start-up depend on the resolver);
// "localhost" is the one name accepted, as 127.0.0.1.
void apply_address(Diag& d, const toml::node& n, const std::string& key, Listener& l) {
  auto text = read_string(d, n, key);
  if (!text) return;
  auto hp = split_host_port(*text);
  if (!hp) return d.add(n, key, hp.error().message);
  if (iequals(hp->host, "localhost")) hp->host = "127.0.0.1";
  if (!net::IpAddress::parse(hp->host))
    return d.add(n, key, "host must be an IP address or \"localhost\", got \"" + printable(hp->host) + "\"");
  l.address = *text;
  l.host = hp->host;
  l.port = hp->port;
}

const std::vector<Field<Listener>>& listener_fields() {
  static const std::vector<Field<Listener>> fields = {
      field("name", &Listener::name,
            string_where(valid_listener_name, "a name of 1..64 letters, digits, '-', '_' or '.'")),
      {"address", apply_address},
      field("protocol", &Listener::protocol,
            one_of<Protocol>({{"smtp", Protocol::Smtp},
                              {"pop3", Protocol::Pop3},
                              {"imap", Protocol::Imap},
                              {"http", Protocol::Http}})),
      field("role", &Listener::role, one_of<SmtpRole>({{"mx", SmtpRole::Mx}, {"submission", SmtpRole::Submission}})),
      field("tls", &Listener::tls,
            one_of<TlsMode>({{"none", TlsMode::None}, {"starttls", TlsMode::StartTls}, {"implicit", TlsMode::Implicit}})),
      field("require_tls_for_auth", &Listener::require_tls_for_auth, boolean()),
  };
  return fields;
}

// The node a message about `key` should point at: the key's value, else the table header.
const toml::node& at(const toml::table& t, std::string_view key) {
  const toml::node* n = t.get(key);
  return n ? *n : t;
}

bool same_socket(const Listener& a, const Listener& b) {
  if (a.port != b.port) return false;
  auto ia = net::IpAddress::parse(a.host), ib = net::IpAddress::parse(b.host);
  return ia && ib && *ia == *ib;  // "::ffff:127.0.0.1" and "127.0.0.1" are one socket
}

// Checks one listener against itself and those before it.
void check_listener(Diag& d, const toml::table& t, const std::string& prefix, Listener& l,
                    const std::vector<Listener>& earlier) {
  // "role" on a pop3/imap/http listener means nothing; "mx" (the default) is
  // tolerated, "submission" suggests the operator expects AUTH there, so refuse.
  if (l.protocol != Protocol::Smtp && l.role == SmtpRole::Submission)
    d.add(at(t, "role"), join_key(prefix, "role"), "only smtp listeners have a role");
  // HTTP has no STARTTLS (RFC 2817's Upgrade is unused): TLS from the first byte or none.
  if (l.protocol == Protocol::Http && l.tls == TlsMode::StartTls)
    d.add(at(t, "tls"), join_key(prefix, "tls"), "http listeners take tls = \"none\" or \"implicit\", not \"starttls\"");
  if (!t.contains("name")) l.name = std::string(protocol_name(l.protocol)) + "-" + std::to_string(l.port);
  for (size_t j = 0; j < earlier.size(); ++j) {
    const std::string other = "listener[" + std::to_string(j) + "]";
    if (earlier[j].name == l.name)
      d.add(at(t, "name"), join_key(prefix, "name"), "duplicate name \"" + l.name + "\" (also " + other + ")");
    if (same_socket(earlier[j], l))
      d.add(at(t, "address"), join_key(prefix, "address"),
            "\"" + l.address + "\" is already used by " + other + " (\"" + earlier[j].name + "\")");
  }
}

}  // namespace

void read_listeners(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  auto array = read_array_of_tables(d, n, key);
  if (!array) return;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table& t = *array->get(i)->as_table();
    const std::string prefix = key + "[" + std::to_string(i) + "]";
    const size_t errors_before = d.count();
    Listener l;
    read_fields(d, t, prefix, listener_fields(), l);
    require_keys(d, t, prefix, {"address"});
    // Comparing a half-read listener with the others would only add noise.
    if (d.count() == errors_before) check_listener(d, t, prefix, l, out.cfg.listeners);
    out.cfg.listeners.push_back(std::move(l));
  }
}

}  // namespace volley::config::detail

namespace volley::config {

const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::Smtp: return "smtp";
    case Protocol::Pop3: return "pop3";
    case Protocol::Imap: return "imap";
    case Protocol::Http: return "http";
  }
  return "smtp";
}

}  // namespace volley::config
