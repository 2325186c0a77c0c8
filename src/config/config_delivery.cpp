// [relay], [queue], [delivery] (with smarthost_auth and [[delivery.shaping]]) and [[dkim]].
#include <algorithm>
#include <set>

#include "config/config_sections.hpp"
#include "delivery/route_plan.hpp"
#include "net/cidr.hpp"
#include "util/strings.hpp"

namespace volley::config::detail {
namespace {

using namespace std::chrono_literals;

// ---- [relay] ----

void apply_networks(Diag& d, const toml::node& n, const std::string& key, Config& cfg) {
  auto items = read_string_array(d, n, key);
  if (!items) return;
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& [text, node] = (*items)[i];
    if (auto cidr = net::Cidr::parse(text))
      cfg.relay_networks.push_back(*cidr);
    else
      d.add(*node, key + "[" + std::to_string(i) + "]",
            "expected a network like \"10.0.0.0/8\" or \"2001:db8::/32\" with no host bits set, got \"" +
                printable(text) + "\"");
  }
}

// ---- [queue] ----

void apply_retry_schedule(Diag& d, const toml::node& n, const std::string& key, QueueSection& q) {
  auto a = n.as_array();
  if (!a || a->empty()) return d.add(n, key, "expected a non-empty array of durations, got " + describe(n));
  std::vector<Duration> schedule;
  for (size_t i = 0; i < a->size(); ++i)
    if (auto dur = read_duration(d, *a->get(i), key + "[" + std::to_string(i) + "]", 1ms)) schedule.push_back(*dur);
  if (schedule.size() == a->size()) q.retry_schedule = std::move(schedule);
}

const std::vector<Field<QueueSection>>& queue_fields() {
  static const std::vector<Field<QueueSection>> fields = {
      {"retry_schedule", apply_retry_schedule},
      field("max_age", &QueueSection::max_age, duration_at_least(1ms)),
  };
  return fields;
}

// ---- [delivery] ----

// "" (the system resolver) or ip:port: it must be an IP, we cannot use DNS
// to find the DNS server.
void apply_resolver(Diag& d, const toml::node& n, const std::string& key, std::string& out) {
  auto text = read_string(d, n, key);
  if (!text) return;
  if (!text->empty()) {
    auto hp = split_host_port(*text);
    if (!hp) return d.add(n, key, hp.error().message);
    if (!net::IpAddress::parse(hp->host).has_value())
      return d.add(n, key, "host must be an IP address, got \"" + printable(hp->host) + "\"");
  }
  out = *text;
}

const std::vector<Field<DeliverySection>>& smarthost_auth_fields() {
  static const std::vector<Field<DeliverySection>> fields = {
      field("user", &DeliverySection::smarthost_user, read_string),
      field("password", &DeliverySection::smarthost_password, read_string),
  };
  return fields;
}

void apply_smarthost_auth(Diag& d, const toml::node& n, const std::string& key, DeliverySection& del) {
  auto t = read_table_node(d, n, key);
  if (!t) return;
  read_fields(d, *t, key, smarthost_auth_fields(), del);
  // Half a credential would make every AUTH fail at delivery time, long after start-up.
  if (del.smarthost_user.empty() != del.smarthost_password.empty())
    d.add(n, key, "set both user and password, or neither");
}

void apply_source_addresses(Diag& d, const toml::node& n, const std::string& key, DeliverySection& del) {
  auto items = read_string_array(d, n, key);
  if (!items) return;
  std::vector<net::IpAddress> seen;
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& [text, node] = (*items)[i];
    const std::string k = key + "[" + std::to_string(i) + "]";
    auto ip = net::IpAddress::parse(text);
    if (!ip) {
      d.add(*node, k, "expected an IP address, got \"" + printable(text) + "\"");
    } else if (std::find(seen.begin(), seen.end(), *ip) != seen.end()) {
      d.add(*node, k, "\"" + text + "\" is listed twice");
    } else {
      seen.push_back(*ip);
      del.source_addresses.push_back(text);
    }
  }
}

}  // namespace

// "3000/h" -> 3000 per hour. One number, one unit of s, m, h or d.
bool parse_rate(std::string_view text, ShapingRule& r) {
  const size_t slash = text.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash > 18) return false;  // 18 digits cannot overflow
  uint64_t count = 0;
  for (char c : text.substr(0, slash)) {
    if (c < '0' || c > '9') return false;
    count = count * 10 + static_cast<uint64_t>(c - '0');
  }
  const std::string_view unit = text.substr(slash + 1);
  const Duration period = unit == "s" ? Duration(1s)
                          : unit == "m" ? Duration(1min)
                          : unit == "h" ? Duration(1h)
                          : unit == "d" ? Duration(24h)
                                        : Duration(0);
  if (count == 0 || period.count() == 0) return false;
  r.rate_count = count;
  r.rate_period = period;
  return true;
}

namespace {

void apply_rate(Diag& d, const toml::node& n, const std::string& key, ShapingRule& r) {
  auto text = read_string(d, n, key);
  if (!text) return;
  if (!text->empty() && !parse_rate(*text, r))
    return d.add(n, key, "expected \"N/s\", \"N/m\", \"N/h\" or \"N/d\" with N > 0, got " + describe(n));
  r.max_rate = *text;
}

// A destination domain or MX host suffix, '*' allowed as a glob: "gmail.com", "*.outlook.com".
bool valid_match(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
          c == '*'))
      return false;
  return true;
}

const std::vector<Field<ShapingRule>>& shaping_fields() {
  static const std::vector<Field<ShapingRule>> fields = {
      {"match",
       [](Diag& d, const toml::node& n, const std::string& k, ShapingRule& r) {
         if (auto s = string_where(valid_match, "a domain or host pattern like \"gmail.com\" or \"*.example.net\"")(
                 d, n, k))
           r.match = to_lower(*s);
       }},
      field("max_connections", &ShapingRule::max_connections, integer(1, kU32Max)),
      {"max_rate", apply_rate},
  };
  return fields;
}

void apply_shaping(Diag& d, const toml::node& n, const std::string& key, DeliverySection& del) {
  auto array = read_array_of_tables(d, n, key);
  if (!array) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table& t = *array->get(i)->as_table();
    const std::string prefix = key + "[" + std::to_string(i) + "]";
    ShapingRule rule;
    read_fields(d, t, prefix, shaping_fields(), rule);
    require_keys(d, t, prefix, {"match"});
    if (!rule.match.empty() && !seen.insert(rule.match).second)
      d.add(*t.get("match"), join_key(prefix, "match"), "\"" + rule.match + "\" has a rule already");
    del.shaping.push_back(std::move(rule));
  }
}

const std::vector<Field<DeliverySection>>& delivery_fields() {
  static const std::vector<Field<DeliverySection>> fields = {
      {"resolver", [](Diag& d, const toml::node& n, const std::string& k,
                      DeliverySection& s) { apply_resolver(d, n, k, s.resolver); }},
      field("mx_port", &DeliverySection::mx_port, integer(1, 65535)),
      {"smarthost",
       [](Diag& d, const toml::node& n, const std::string& k, DeliverySection& s) {
         // The engine's own parser, so every value it can route is accepted:
         // "host", "host:port", "[host]:port" (no MX lookup), "[v6]:port".
         auto text = read_string(d, n, k);
         if (!text) return;
         if (!text->empty())
           if (auto hp = delivery::parse_host_port(*text, 25); !hp) return d.add(n, k, hp.error().message);
         s.smarthost = *text;
       }},
      {"smarthost_auth", apply_smarthost_auth},
      field("tls", &DeliverySection::tls,
            one_of<std::string>({{"opportunistic", "opportunistic"}, {"required", "required"}, {"none", "none"}})),
      {"source_addresses", apply_source_addresses},
      field("max_connections", &DeliverySection::max_connections, integer(1, kU32Max)),
      field("default_max_connections_per_domain", &DeliverySection::default_max_connections_per_domain,
            integer(1, kU32Max)),
      field("default_max_messages_per_connection", &DeliverySection::default_max_messages_per_connection,
            integer(1, kU32Max)),
      {"shaping", apply_shaping},
      field("enabled", &DeliverySection::enabled, boolean()),
      field("connect_timeout", &DeliverySection::connect_timeout, duration_at_least(1ms)),
      field("command_timeout", &DeliverySection::command_timeout, duration_at_least(1ms)),
      field("data_timeout", &DeliverySection::data_timeout, duration_at_least(1ms)),
      field("dns_timeout", &DeliverySection::dns_timeout, duration_at_least(1ms)),
      field("max_active_messages", &DeliverySection::max_active_messages, integer(1, kU32Max)),
      field("max_active_bytes", &DeliverySection::max_active_bytes, size_at_least(1)),
      // 0 is allowed: QUIT as soon as the queue of the destination is empty.
      field("connection_idle_timeout", &DeliverySection::connection_idle_timeout, duration_at_least(0ms)),
      field("max_jobs_per_destination", &DeliverySection::max_jobs_per_destination, integer(1, kU32Max)),
      field("mta_sts", &DeliverySection::mta_sts, boolean()),
      field("dane", &DeliverySection::dane, boolean()),
      field("ca_file", &DeliverySection::ca_file, string_where(no_control_chars, "a file path (or \"\")")),
      field("mta_sts_port", &DeliverySection::mta_sts_port, integer(1, 65535)),
  };
  return fields;
}

// ---- [[dkim]] ----

void apply_dkim_domain(Diag& d, const toml::node& n, const std::string& key, DkimKey& k) {
  auto s = read_string(d, n, key);
  if (!s) return;
  if (!s->empty() && s->back() == '.') return d.add(n, key, "write the domain without the trailing dot");
  if (!valid_domain(*s)) return d.add(n, key, "expected a domain name, got " + describe(n));
  k.domain = to_lower(*s);
}

const std::vector<Field<DkimKey>>& dkim_fields() {
  static const std::vector<Field<DkimKey>> fields = {
      {"domain", apply_dkim_domain},
      // Selectors are DNS labels (dots allowed: RFC 6376 3.1).
      field("selector", &DkimKey::selector, string_where(valid_domain, "a selector of DNS labels like \"s2026\"")),
      field("key", &DkimKey::key, string_where(nonempty, "the path of a PEM private key")),
      field("algorithm", &DkimKey::algorithm,
            one_of<std::string>({{"rsa-sha256", "rsa-sha256"}, {"ed25519-sha256", "ed25519-sha256"}})),
  };
  return fields;
}

}  // namespace

void read_relay(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  static const std::vector<Field<Config>> fields = {
      {"allow_networks", apply_networks},
      field("sender_login_match", &Config::sender_login_match,
            one_of<SenderLoginMatch>({{"address", SenderLoginMatch::Address},
                                      {"domain", SenderLoginMatch::Domain},
                                      {"any", SenderLoginMatch::Any}})),
  };
  if (auto t = read_table_node(d, n, key)) read_fields(d, *t, key, fields, out.cfg);
}

void read_queue(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  if (auto t = read_table_node(d, n, key)) read_fields(d, *t, key, queue_fields(), out.cfg.queue);
}

void read_delivery(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  if (auto t = read_table_node(d, n, key)) read_fields(d, *t, key, delivery_fields(), out.cfg.delivery);
}

void read_dkim(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  auto array = read_array_of_tables(d, n, key);
  if (!array) return;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table& t = *array->get(i)->as_table();
    const std::string prefix = key + "[" + std::to_string(i) + "]";
    DkimKey k;
    read_fields(d, t, prefix, dkim_fields(), k);
    require_keys(d, t, prefix, {"domain", "selector", "key"});
    for (const auto& other : out.cfg.dkim)
      if (!k.domain.empty() && other.domain == k.domain && iequals(other.selector, k.selector))
        d.add(t, prefix, "selector \"" + k.selector + "\" of \"" + k.domain + "\" is configured twice");
    out.cfg.dkim.push_back(std::move(k));
  }
}

}  // namespace volley::config::detail
