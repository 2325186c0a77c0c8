// volley.toml (SPEC section 2). The key names are a contract with operators:
// add keys, never rename or drop them. Every key has a default; unknown keys
// and bad values are refused with the key, the file line and the reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "delivery/limits.hpp"
#include "net/cidr.hpp"
#include "util/result.hpp"

namespace volley::config {

using Duration = std::chrono::milliseconds;

enum class Protocol { Smtp, Pop3, Imap, Http };
const char* protocol_name(Protocol p);  // "smtp", "pop3", "imap", "http"
enum class SmtpRole { Mx, Submission };
enum class TlsMode { None, StartTls, Implicit };
enum class LogFormat { KeyValue, Json };
// relay.sender_login_match: which MAIL FROM an authenticated user may use
// (Postfix's reject_sender_login_mismatch); anything else gets 553 5.7.1.
enum class SenderLoginMatch {
  Address,  // the user's own address and the aliases that point to it
  Domain,   // any address in a domain the user (or an alias of it) is in
  Any,      // no check
};

struct ServerSection {
  std::string hostname;            // default: gethostname()
  std::string data_dir = "/var/lib/volley";
  unsigned threads = 0;            // 0 = one per core
  Duration shutdown_timeout = std::chrono::seconds(30);  // SIGTERM drain bound
  std::string user;                // started as root: bind the listeners, then run as this user ("" = stay)
};

struct LogSection {
  LogFormat format = LogFormat::KeyValue;  // [log] format = "kv" | "json"
  std::string level = "info";              // debug | info | warn | error
};

struct Listener {
  std::string name;                // default: "<protocol>-<port>"
  std::string address;             // as written: "0.0.0.0:25", "[::1]:587"
  std::string host;                // "0.0.0.0", "::1"
  uint16_t port = 0;
  Protocol protocol = Protocol::Smtp;
  SmtpRole role = SmtpRole::Mx;
  TlsMode tls = TlsMode::None;
  bool require_tls_for_auth = true;
};

struct TlsSection {
  std::string cert;                // empty = self-signed under data_dir/tls/ (generated on first start)
  std::string key;
  std::string min_version = "1.2"; // "1.2" | "1.3"
};

struct Limits {
  uint64_t max_message_size = 50ull * 1024 * 1024;
  uint32_t max_recipients = 1000;
  uint32_t max_connections = 20000;
  uint32_t max_connections_per_ip = 100;
  uint32_t max_auth_failures = 5;
  Duration command_timeout = std::chrono::minutes(5);
  Duration data_timeout = std::chrono::minutes(10);
  // Added keys (not in SPEC's example; documented in docs/configuration.md):
  uint64_t max_line_length = 64 * 1024;       // longest message line accepted in DATA/BDAT
  uint32_t max_errors = 20;                   // protocol errors per connection before 421 and close
  Duration auth_failure_delay = std::chrono::seconds(1);  // base delay before a 535, grows per failure from the IP
  Duration auth_failure_max_delay = std::chrono::seconds(10);
  Duration auth_failure_window = std::chrono::minutes(15);  // how long an IP's failures are remembered
  // Postfix's smtpd_soft_error_limit / smtpd_error_sleep_time: once a client
  // has made more than errors_before_delay errors, each further error reply
  // (and the 421 for too many junk commands) is held back error_delay, so a
  // prober pays in time before max_errors closes the connection.
  uint32_t errors_before_delay = 10;
  Duration error_delay = std::chrono::seconds(1);
  uint32_t max_junk_commands = 100;           // NOOP/RSET/VRFY/HELP per connection (reset by an accepted message), then 421
  Duration max_connection_lifetime = std::chrono::hours(1);  // any connection, any protocol, then ended at a request boundary
  uint64_t min_data_rate = 500;               // bytes/s a DATA/BDAT transfer must average after its first data_timeout; 0 = off
  uint32_t listen_backlog = 1024;             // listen(2) backlog of every listener (net::kDefaultListenBacklog)
  // A message body larger than this streams to the spool as it arrives, so a
  // session holds at most about this much of it (many clients sending large
  // messages at once cannot exhaust memory).
  uint64_t message_memory_threshold = 1024 * 1024;
  // AUTH failure budget per client address across all its connections and
  // protocols (Postfix anvil's smtpd_client_auth_rate_limit): beyond it,
  // AUTH gets 454 4.7.0 without a password check. 0 = no budget.
  uint32_t max_auth_failures_per_ip = 10;
  Duration auth_failures_per_ip_window = std::chrono::minutes(1);
};

struct QueueSection {
  std::vector<Duration> retry_schedule = {std::chrono::minutes(1), std::chrono::minutes(5),
                                          std::chrono::minutes(15), std::chrono::hours(1),
                                          std::chrono::hours(4)};
  Duration max_age = std::chrono::hours(24 * 5);
};

struct ShapingRule {
  std::string match;
  uint32_t max_connections = 0;    // 0 = inherit default
  std::string max_rate;            // "3000/h" as written; "" = unlimited
  uint64_t rate_count = 0;
  Duration rate_period{0};
};

struct DeliverySection {
  std::string resolver;            // "" = system resolver; "127.0.0.1:5353"
  uint16_t mx_port = 25;
  std::string smarthost;           // "host:port"
  std::string smarthost_user, smarthost_password;
  std::string tls = "opportunistic";  // opportunistic | required | none
  std::vector<std::string> source_addresses;
  uint32_t max_connections = 2000;
  uint32_t default_max_connections_per_domain = 20;
  uint32_t default_max_messages_per_connection = 100;
  std::vector<ShapingRule> shaping;
  // Added keys (not in SPEC's example; documented in docs/configuration.md):
  bool enabled = true;             // false: nothing is delivered, everything stays queued
  Duration connect_timeout = std::chrono::seconds(30);   // TCP connect, per address
  Duration command_timeout = std::chrono::minutes(5);    // greeting and each reply (RFC 5321 4.5.3.2)
  Duration data_timeout = std::chrono::minutes(10);      // reply to the final dot
  Duration dns_timeout = std::chrono::seconds(5);        // per DNS query
  uint32_t max_active_messages = delivery::limits::kDefaultMaxActiveMessages;  // messages held by the delivery engine at once (bounds memory)
  // Issue 9, point 2 (reasons in src/delivery/limits.hpp):
  uint64_t max_active_bytes = delivery::limits::kDefaultMaxActiveBytes;  // bodies held by active messages
  Duration connection_idle_timeout = delivery::limits::kDefaultConnectionIdleTimeout;  // idle outbound connection kept for reuse
  uint32_t max_jobs_per_destination = delivery::limits::kDefaultMaxJobsPerDestination;  // jobs queued per destination
  // Issue 10: receivers' transport-security policies.
  bool mta_sts = true;             // RFC 8461
  bool dane = true;                // RFC 7672; needs a DNSSEC-validating resolver
  std::string ca_file;             // CAs for MTA-STS (policy fetch, MX certificates); "" = SSL_CERT_FILE or the system store
  uint16_t mta_sts_port = 443;     // port of the mta-sts.DOMAIN policy server; only tests change it
};

// [inbound]: checks on mx listeners for clients that are neither
// authenticated nor in relay.allow_networks (issue 10).
enum class DmarcMode { Enforce, Report, Off };
struct InboundSection {
  bool spf = true;                    // RFC 7208 on MAIL FROM and HELO
  bool dkim_verify = true;            // RFC 6376 / 8463, every signature
  // "report" unless configured: a fresh install records results in
  // Authentication-Results but refuses nothing until the operator opts in.
  DmarcMode dmarc = DmarcMode::Report;
};

// [mailbox]: the local store (issue 11 builds on it).
struct MailboxSection {
  uint64_t quota = 0;                 // default per-user quota in bytes, 0 = unlimited
};

// [api]: the HTTP sending platform and its API (http listeners).
struct ApiSection {
  std::string public_url;
  std::string complaints_address;
  std::string rate_limit = "100/s";   // per API key; parsed into rate_count / rate_period
  uint64_t rate_count = 100;
  Duration rate_period = std::chrono::seconds(1);
  std::string bounce_rules;
  // Added key (documented in docs/configuration.md): the largest request
  // body accepted (413 beyond it, answered from Content-Length before the
  // body is read); bodies are held in memory until their handler runs.
  uint64_t max_request_size = 64ull * 1024 * 1024;
};

struct DkimKey {
  std::string domain, selector, key, algorithm = "rsa-sha256";
};

struct Config {
  std::string source_path;         // file it was loaded from; "" for the built-in default
  ServerSection server;
  LogSection log;
  std::vector<Listener> listeners;
  TlsSection tls;
  Limits limits;
  std::vector<std::string> local_domains;                     // lowercased, no trailing dot
  std::map<std::string, std::vector<std::string>> aliases;    // lowercased "user@domain" -> targets
  std::vector<net::Cidr> relay_networks;
  SenderLoginMatch sender_login_match = SenderLoginMatch::Domain;  // [relay] sender_login_match
  QueueSection queue;
  DeliverySection delivery;
  std::vector<DkimKey> dkim;
  InboundSection inbound;
  MailboxSection mailbox;
  ApiSection api;
};

// Parses and validates a file. Error messages read
//   "volley.toml:12: limits.max_recipients: expected a positive integer, got \"x\""
// (file:line: key: reason), one error (the first found).
Result<Config> load_file(const std::string& path);
// Same, from text (tests); `name` stands for the file name in messages.
Result<Config> load_string(std::string_view toml_text, const std::string& name = "volley.toml");
// SPEC section 1 development instance: data ./volley-data, SMTP (mx,
// starttls) on 127.0.0.1:2525, submission (starttls, AUTH) on 127.0.0.1:2587,
// POP3 (STLS) on 127.0.0.1:2110, HTTP (API, no TLS) on 127.0.0.1:8025,
// domain localhost.test, self-signed certificate.
Config development_default();

}  // namespace volley::config
