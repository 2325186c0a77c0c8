// volley.toml loading: the SPEC section 2 example, every section's keys,
// unknown keys with their line numbers, bad values, cross-section checks,
// defaults and the development default. Most cases are rows of a table:
// {name, toml text, expected error}.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"
#include "config/units.hpp"

namespace volley::config {
namespace {

using namespace std::chrono_literals;

// SPEC section 2, verbatim. Its tls.cert and tls.key do not exist here.
constexpr std::string_view kSpecExample = R"TOML([server]
hostname = "mail.example.com"      # greeting, Received headers, outbound EHLO
data_dir = "/var/lib/volley"       # queue, state, mailboxes, keys (created 0700)
threads  = 0                       # 0 = one per core
user     = "volley"                # started as root: bind the listeners, then run as this user

[[listener]]                       # one table per listening socket
name = "mx"                        # used in logs and metrics
address = "0.0.0.0:25"
protocol = "smtp"                  # smtp | pop3 | imap | http
role = "mx"                        # smtp only: mx (no AUTH, local domains + allowed networks) | submission (AUTH required)
tls = "starttls"                   # none | starttls | implicit
require_tls_for_auth = true        # never offer AUTH on a cleartext channel

[tls]
cert = "/etc/volley/cert.pem"
key  = "/etc/volley/key.pem"
min_version = "1.2"

[limits]
max_message_size = "50MB"
max_recipients = 1000              # per transaction
max_connections = 20000
max_connections_per_ip = 100
max_auth_failures = 5              # per connection, then 421 and close
command_timeout = "5m"             # RFC 5321 4.5.3.2 timeouts
data_timeout = "10m"
max_junk_commands = 100            # NOOP/RSET/VRFY/HELP per connection, then 421 (Postfix's junk limit)
max_connection_lifetime = "1h"     # any connection, any protocol

[domains]
local = ["example.com"]            # mail for these is delivered into mailboxes

[aliases]                          # address -> local addresses; RCPT TO:<Postmaster> (no domain)
"postmaster@example.com" = ["alice@example.com"]   # reaches postmaster@ of the first local domain

[relay]
allow_networks = ["127.0.0.1/32"]  # may relay without AUTH (none by default)
sender_login_match = "domain"      # authenticated senders: address (own + aliases) | domain | any; else 553 5.7.1

[mailbox]
quota = "0"                        # default per-user quota, 0 = unlimited; per user: volley user quota

[inbound]                          # checks on mx listeners for unauthenticated, non-relay clients
spf = true                         # RFC 7208
dkim_verify = true                 # RFC 6376 / 8463
dmarc = "enforce"                  # enforce (p=reject -> 550 5.7.1, quarantine -> Junk) | report | off

[queue]
retry_schedule = ["1m", "5m", "15m", "1h", "4h"]   # last interval repeats
max_age = "5d"                     # then bounce

[delivery]
resolver = ""                      # "" = system resolver; "127.0.0.1:5353" for a private DNS;
                                   # used for every lookup (MX, SPF, DKIM, DMARC, MTA-STS, TLSA)
mx_port = 25                       # port of MX hosts (tests point it at loopback peers)
smarthost = ""                     # "host:port": send all remote mail through it
smarthost_auth = { user = "", password = "" }
tls = "opportunistic"              # opportunistic | required | none
mta_sts = true                     # RFC 8461: honour receivers' MTA-STS policies
dane = true                        # RFC 7672: honour TLSA records (needs a DNSSEC-validating resolver)
source_addresses = []              # local IPs to bind outbound connections to (IP pool)
max_connections = 2000             # total outbound
default_max_connections_per_domain = 20
default_max_messages_per_connection = 100

[[delivery.shaping]]               # per destination domain (glob) or MX host suffix
match = "gmail.com"
max_connections = 20
max_rate = "3000/h"                # messages per period, all nodes of this host

[[dkim]]
domain = "example.com"
selector = "s2026"
key = "/etc/volley/dkim/example.com.s2026.pem"   # rsa (2048+) or ed25519
algorithm = "rsa-sha256"           # or "ed25519-sha256"

[api]
public_url = "https://mail.example.com"   # base of unsubscribe links
complaints_address = "fbl@example.com"    # ARF feedback-loop reports arrive here
rate_limit = "100/s"                      # per API key, then 429
# bounce_rules = "/etc/volley/bounce-rules.toml"   # extra classification rules
)TOML";

Result<Config> load(std::string_view text) { return load_string(text, "t.toml"); }

std::string error_of(std::string_view text) {
  auto r = load(text);
  return r ? std::string("(loaded without error)") : r.error().message;
}

// Lines 1-2 of most cases, so that what follows starts at line 3.
constexpr std::string_view kListener = "[[listener]]\naddress = \"127.0.0.1:25\"\n";

std::string with_listener(std::string_view rest) { return std::string(kListener) + std::string(rest); }

// A scratch directory for certificate/key/config files, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "volley-config-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, std::string_view content) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// ---------------------------------------------------------------- SPEC example

TEST(ConfigSpecExample, OnlyErrorIsTheMissingCertificate) {
  EXPECT_EQ(error_of(kSpecExample),
            "t.toml:16: tls.cert: cannot read \"/etc/volley/cert.pem\": No such file or directory");
}

TEST(ConfigSpecExample, LoadsWithRealCertificateFiles) {
  TempDir dir;
  std::string text = replace_all(std::string(kSpecExample), "/etc/volley/cert.pem", dir.write("cert.pem", "x"));
  text = replace_all(text, "/etc/volley/key.pem", dir.write("key.pem", "x"));
  auto r = load(text);
  ASSERT_TRUE(r) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.source_path, "t.toml");
  EXPECT_EQ(c.server.hostname, "mail.example.com");
  EXPECT_EQ(c.server.data_dir, "/var/lib/volley");
  EXPECT_EQ(c.server.threads, 0u);
  EXPECT_EQ(c.server.user, "volley");
  EXPECT_EQ(c.sender_login_match, SenderLoginMatch::Domain);

  ASSERT_EQ(c.listeners.size(), 1u);
  const Listener& l = c.listeners[0];
  EXPECT_EQ(l.name, "mx");
  EXPECT_EQ(l.address, "0.0.0.0:25");
  EXPECT_EQ(l.host, "0.0.0.0");
  EXPECT_EQ(l.port, 25);
  EXPECT_EQ(l.protocol, Protocol::Smtp);
  EXPECT_EQ(l.role, SmtpRole::Mx);
  EXPECT_EQ(l.tls, TlsMode::StartTls);
  EXPECT_TRUE(l.require_tls_for_auth);

  EXPECT_EQ(c.tls.cert, dir.path() + "/cert.pem");
  EXPECT_EQ(c.tls.key, dir.path() + "/key.pem");
  EXPECT_EQ(c.tls.min_version, "1.2");

  EXPECT_EQ(c.limits.max_message_size, 50ull * 1024 * 1024);
  EXPECT_EQ(c.limits.max_recipients, 1000u);
  EXPECT_EQ(c.limits.max_connections, 20000u);
  EXPECT_EQ(c.limits.max_connections_per_ip, 100u);
  EXPECT_EQ(c.limits.max_auth_failures, 5u);
  EXPECT_EQ(c.limits.command_timeout, 5min);
  EXPECT_EQ(c.limits.data_timeout, 10min);

  EXPECT_EQ(c.local_domains, std::vector<std::string>{"example.com"});
  ASSERT_EQ(c.aliases.size(), 1u);
  EXPECT_EQ(c.aliases.at("postmaster@example.com"), std::vector<std::string>{"alice@example.com"});
  ASSERT_EQ(c.relay_networks.size(), 1u);
  EXPECT_EQ(c.relay_networks[0].to_string(), "127.0.0.1/32");

  EXPECT_EQ(c.queue.retry_schedule, (std::vector<Duration>{1min, 5min, 15min, 1h, 4h}));
  EXPECT_EQ(c.queue.max_age, 24h * 5);

  const DeliverySection& d = c.delivery;
  EXPECT_EQ(d.resolver, "");
  EXPECT_EQ(d.mx_port, 25);
  EXPECT_EQ(d.smarthost, "");
  EXPECT_EQ(d.smarthost_user, "");
  EXPECT_EQ(d.smarthost_password, "");
  EXPECT_EQ(d.tls, "opportunistic");
  EXPECT_TRUE(d.source_addresses.empty());
  EXPECT_EQ(d.max_connections, 2000u);
  EXPECT_EQ(d.default_max_connections_per_domain, 20u);
  EXPECT_EQ(d.default_max_messages_per_connection, 100u);
  ASSERT_EQ(d.shaping.size(), 1u);
  EXPECT_EQ(d.shaping[0].match, "gmail.com");
  EXPECT_EQ(d.shaping[0].max_connections, 20u);
  EXPECT_EQ(d.shaping[0].max_rate, "3000/h");
  EXPECT_EQ(d.shaping[0].rate_count, 3000u);
  EXPECT_EQ(d.shaping[0].rate_period, 1h);

  ASSERT_EQ(c.dkim.size(), 1u);
  EXPECT_EQ(c.dkim[0].domain, "example.com");
  EXPECT_EQ(c.dkim[0].selector, "s2026");
  EXPECT_EQ(c.dkim[0].key, "/etc/volley/dkim/example.com.s2026.pem");
  EXPECT_EQ(c.dkim[0].algorithm, "rsa-sha256");
  EXPECT_EQ(c.mailbox.quota, 0u);
  EXPECT_TRUE(c.inbound.spf);
  EXPECT_TRUE(c.inbound.dkim_verify);
  EXPECT_EQ(c.inbound.dmarc, DmarcMode::Enforce);
  EXPECT_TRUE(c.delivery.mta_sts);
  EXPECT_TRUE(c.delivery.dane);
  EXPECT_EQ(c.delivery.ca_file, "");
  EXPECT_EQ(c.delivery.mta_sts_port, 443);
  EXPECT_EQ(c.api.public_url, "https://mail.example.com");
  EXPECT_EQ(c.api.complaints_address, "fbl@example.com");
  EXPECT_EQ(c.api.rate_limit, "100/s");
  EXPECT_EQ(c.api.rate_count, 100u);
  EXPECT_EQ(c.api.rate_period, std::chrono::seconds(1));
}

// The repository's commented example must stay loadable.
TEST(ConfigSpecExample, RepositoryExampleFileLoads) {
  const auto path = std::filesystem::path(__FILE__).parent_path() / "../../volley.example.toml";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "source tree not found from " << __FILE__;
  auto r = load_file(path.string());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->listeners.size(), 5u);
  EXPECT_EQ(r->dkim.size(), 1u);
  EXPECT_EQ(r->delivery.shaping.size(), 2u);
}

// ---------------------------------------------------------------- errors

struct ErrorCase {
  const char* name;
  std::string_view toml;   // appended to kListener (lines 1-2) unless noted
  std::string_view error;  // the whole message
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

std::string case_name(const testing::TestParamInfo<ErrorCase>& info) { return info.param.name; }

// ---- unknown keys, at every level, with their own line ----

const ErrorCase kUnknownKeys[] = {
    {"TopLevelTable", "[servers]\nthreads = 1\n", "t.toml:3: servers: unknown key (did you mean \"server\"?)"},
    {"Server", "[server]\nthreadz = 2\n", "t.toml:4: server.threadz: unknown key (did you mean \"threads\"?)"},
    {"ServerSubtable", "[server.extra]\na = 1\n", "t.toml:3: server.extra: unknown key"},
    {"Log", "[log]\nformat = \"kv\"\nlevels = \"info\"\n",
     "t.toml:5: log.levels: unknown key (did you mean \"level\"?)"},
    {"Listener", "[[listener]]\naddress = \"127.0.0.1:26\"\n\nport = 26\n", "t.toml:6: listener[1].port: unknown key"},
    {"Tls", "[tls]\ncertificate = \"x\"\n", "t.toml:4: tls.certificate: unknown key"},
    {"Limits", "[limits]\nmax_message_sise = 5\n",
     "t.toml:4: limits.max_message_sise: unknown key (did you mean \"max_message_size\"?)"},
    {"Domains", "[domains]\nlocals = []\n", "t.toml:4: domains.locals: unknown key (did you mean \"local\"?)"},
    {"Relay", "[relay]\nallow_network = []\n",
     "t.toml:4: relay.allow_network: unknown key (did you mean \"allow_networks\"?)"},
    {"Queue", "[queue]\nmax_age = \"1d\"\nretry = []\n", "t.toml:5: queue.retry: unknown key"},
    {"Delivery", "[delivery]\nmx_prot = 25\n", "t.toml:4: delivery.mx_prot: unknown key (did you mean \"mx_port\"?)"},
    {"SmarthostAuth", "[delivery]\nsmarthost_auth = { user = \"u\", pass = \"p\" }\n",
     "t.toml:4: delivery.smarthost_auth.pass: unknown key"},
    {"Shaping", "[[delivery.shaping]]\nmatch = \"a.com\"\nrate = \"1/s\"\n",
     "t.toml:5: delivery.shaping[0].rate: unknown key"},
    {"Dkim", "[[dkim]]\ndomain = \"example.com\"\nselector = \"s\"\nkey = \"k\"\nalgo = \"rsa-sha256\"\n",
     "t.toml:7: dkim[0].algo: unknown key"},
    {"Inbound", "[inbound]\nspf = true\ndkim = true\n", "t.toml:5: inbound.dkim: unknown key"},
    {"Mailbox", "[mailbox]\nquotas = 1\n", "t.toml:4: mailbox.quotas: unknown key (did you mean \"quota\"?)"},
    {"Api", "[api]\npublic = \"https://x\"\n", "t.toml:4: api.public: unknown key"},
    {"CaseMatters", "[server]\nThreads = 2\n", "t.toml:4: server.Threads: unknown key (did you mean \"threads\"?)"},
};

class UnknownKey : public testing::TestWithParam<ErrorCase> {};
TEST_P(UnknownKey, RefusedWithItsLine) { EXPECT_EQ(error_of(with_listener(GetParam().toml)), GetParam().error); }
INSTANTIATE_TEST_SUITE_P(Config, UnknownKey, testing::ValuesIn(kUnknownKeys), case_name);

// ---- bad values, section by section ----

const ErrorCase kBadValues[] = {
    // types of whole sections
    {"DkimNotArray", "[dkim]\ndomain = \"example.com\"\n",
     "t.toml:3: dkim: expected an array of tables ([[dkim]]), got a table"},
    // [server]
    {"Hostname", "[server]\nhostname = \"mail_example.com\"\n",
     "t.toml:4: server.hostname: expected a hostname of letters, digits, '-' and '.', got \"mail_example.com\""},
    {"HostnameEmpty", "[server]\nhostname = \"\"\n",
     "t.toml:4: server.hostname: expected a hostname of letters, digits, '-' and '.', got \"\""},
    {"HostnameNotString", "[server]\nhostname = 42\n", "t.toml:4: server.hostname: expected a string, got 42"},
    {"DataDirEmpty", "[server]\ndata_dir = \"\"\n", "t.toml:4: server.data_dir: expected a directory path, got \"\""},
    {"UserWithSlash", "[server]\nuser = \"../root\"\n",
     "t.toml:4: server.user: expected a user name like \"volley\" (or \"\"), got \"../root\""},
    {"UserLeadingDash", "[server]\nuser = \"-volley\"\n",
     "t.toml:4: server.user: expected a user name like \"volley\" (or \"\"), got \"-volley\""},
    {"ControlCharacter", "[server]\ndata_dir = \"/var/\\tlib\"\n",
     "t.toml:4: server.data_dir: control characters are not allowed, got \"/var/\\x09lib\""},
    {"ThreadsNegative", "[server]\nthreads = -1\n",
     "t.toml:4: server.threads: expected a non-negative integer, got -1"},
    {"ThreadsTooMany", "[server]\nthreads = 2000\n", "t.toml:4: server.threads: expected at most 1024, got 2000"},
    {"ThreadsFloat", "[server]\nthreads = 2.5\n", "t.toml:4: server.threads: expected a non-negative integer, got 2.5"},
    {"ShutdownZero", "[server]\nshutdown_timeout = 0\n",
     "t.toml:4: server.shutdown_timeout: expected a positive duration (seconds, or a string like \"30s\", \"5m\", "
     "\"4h\", \"5d\", \"250ms\"), got 0"},
    // [log]
    {"LogFormat", "[log]\nformat = \"xml\"\n",
     "t.toml:4: log.format: expected one of \"kv\", \"json\", got \"xml\""},
    {"LogLevel", "[log]\nlevel = \"verbose\"\n",
     "t.toml:4: log.level: expected one of \"debug\", \"info\", \"warn\", \"error\", got \"verbose\""},
    // [tls]
    {"TlsVersion", "[tls]\nmin_version = \"1.1\"\n",
     "t.toml:4: tls.min_version: expected one of \"1.2\", \"1.3\", got \"1.1\""},
    {"TlsVersionNumber", "[tls]\nmin_version = 1.2\n", "t.toml:4: tls.min_version: expected a string, got 1.2"},
    {"TlsCertWithoutKey", "[tls]\ncert = \"/etc/hostname\"\n",
     "t.toml:3: tls.key: set both tls.cert and tls.key, or neither (self-signed)"},
    {"TlsKeyMissing", "[tls]\ncert = \"/etc/hostname\"\nkey = \"/nonexistent/key.pem\"\n",
     "t.toml:5: tls.key: cannot read \"/nonexistent/key.pem\": No such file or directory"},
    {"TlsCertIsDirectory", "[tls]\ncert = \"/\"\nkey = \"/etc/hostname\"\n",
     "t.toml:4: tls.cert: cannot read \"/\": not a regular file"},
    // [limits]: sizes
    {"SizeUnknownUnit", "[limits]\nmax_message_size = \"50XB\"\n",
     "t.toml:4: limits.max_message_size: expected a positive size (bytes, or a string like \"50MB\"), got \"50XB\""},
    {"SizeZero", "[limits]\nmax_message_size = 0\n",
     "t.toml:4: limits.max_message_size: expected a positive size (bytes, or a string like \"50MB\"), got 0"},
    {"SizeNegative", "[limits]\nmax_message_size = -5\n",
     "t.toml:4: limits.max_message_size: expected a positive size (bytes, or a string like \"50MB\"), got -5"},
    {"SizeOverflow", "[limits]\nmax_message_size = \"99999999999999999999GB\"\n",
     "t.toml:4: limits.max_message_size: expected a positive size (bytes, or a string like \"50MB\"), got "
     "\"99999999999999999999GB\""},
    {"SizeFraction", "[limits]\nmax_message_size = \"1.5GB\"\n",
     "t.toml:4: limits.max_message_size: expected a positive size (bytes, or a string like \"50MB\"), got \"1.5GB\""},
    {"SizeBool", "[limits]\nmax_message_size = true\n",
     "t.toml:4: limits.max_message_size: expected a positive size (bytes, or a string like \"50MB\"), got true"},
    {"LineLengthBelowRfc", "[limits]\nmax_line_length = 999\n",
     "t.toml:4: limits.max_line_length: expected a size of at least 1000 bytes (bytes, or a string like \"50MB\"), "
     "got 999"},
    // [limits]: integers
    {"RecipientsString", "[limits]\nmax_recipients = \"x\"\n",
     "t.toml:4: limits.max_recipients: expected a positive integer, got \"x\""},
    {"RecipientsZero", "[limits]\nmax_recipients = 0\n",
     "t.toml:4: limits.max_recipients: expected a positive integer, got 0"},
    {"RecipientsHuge", "[limits]\nmax_recipients = 5000000000\n",
     "t.toml:4: limits.max_recipients: expected at most 4294967295, got 5000000000"},
    {"ConnectionsZero", "[limits]\nmax_connections = 0\n",
     "t.toml:4: limits.max_connections: expected a positive integer, got 0"},
    {"PerIpZero", "[limits]\nmax_connections_per_ip = 0\n",
     "t.toml:4: limits.max_connections_per_ip: expected a positive integer, got 0"},
    {"AuthFailuresZero", "[limits]\nmax_auth_failures = 0\n",
     "t.toml:4: limits.max_auth_failures: expected a positive integer, got 0"},
    {"MaxErrorsZero", "[limits]\nmax_errors = 0\n", "t.toml:4: limits.max_errors: expected a positive integer, got 0"},
    {"JunkCommandsZero", "[limits]\nmax_junk_commands = 0\n",
     "t.toml:4: limits.max_junk_commands: expected a positive integer, got 0"},
    {"ListenBacklogHuge", "[limits]\nlisten_backlog = 70000\n",
     "t.toml:4: limits.listen_backlog: expected at most 65535, got 70000"},
    {"MinDataRateWords", "[limits]\nmin_data_rate = \"fast\"\n",
     "t.toml:4: limits.min_data_rate: expected a size (bytes, or a string like \"50MB\"), got \"fast\""},
    {"LifetimeBelowASecond", "[limits]\nmax_connection_lifetime = \"500ms\"\n",
     "t.toml:4: limits.max_connection_lifetime: expected a duration of at least 1s (seconds, or a string like "
     "\"30s\", \"5m\", \"4h\", \"5d\", \"250ms\"), got \"500ms\""},
    // [limits]: durations
    {"DurationWords", "[limits]\ncommand_timeout = \"5 minutes\"\n",
     "t.toml:4: limits.command_timeout: expected a positive duration (seconds, or a string like \"30s\", \"5m\", "
     "\"4h\", \"5d\", \"250ms\"), got \"5 minutes\""},
    {"DurationZero", "[limits]\ndata_timeout = \"0s\"\n",
     "t.toml:4: limits.data_timeout: expected a positive duration (seconds, or a string like \"30s\", \"5m\", "
     "\"4h\", \"5d\", \"250ms\"), got \"0s\""},
    {"DurationUppercase", "[limits]\ndata_timeout = \"1M\"\n",
     "t.toml:4: limits.data_timeout: expected a positive duration (seconds, or a string like \"30s\", \"5m\", "
     "\"4h\", \"5d\", \"250ms\"), got \"1M\""},
    {"DurationCompound", "[limits]\ndata_timeout = \"1m30s\"\n",
     "t.toml:4: limits.data_timeout: expected a positive duration (seconds, or a string like \"30s\", \"5m\", "
     "\"4h\", \"5d\", \"250ms\"), got \"1m30s\""},
    {"DurationNegative", "[limits]\nauth_failure_delay = -1\n",
     "t.toml:4: limits.auth_failure_delay: expected a duration (seconds, or a string like \"30s\", \"5m\", \"4h\", "
     "\"5d\", \"250ms\"), got -1"},
    {"DurationOverflow", "[limits]\ncommand_timeout = 9223372036854775807\n",
     "t.toml:4: limits.command_timeout: expected a positive duration (seconds, or a string like \"30s\", \"5m\", "
     "\"4h\", \"5d\", \"250ms\"), got 9223372036854775807"},
    {"AuthDelayAboveMax", "[limits]\nauth_failure_delay = \"20s\"\n",
     "t.toml:4: limits.auth_failure_delay: limits.auth_failure_max_delay must not be below "
     "limits.auth_failure_delay"},
    {"AuthMaxBelowDelay", "[limits]\nauth_failure_max_delay = \"5s\"\nauth_failure_delay = \"6s\"\n",
     "t.toml:4: limits.auth_failure_max_delay: limits.auth_failure_max_delay must not be below "
     "limits.auth_failure_delay"},
    // [domains]
    {"DomainTrailingDot", "[domains]\nlocal = [\"example.com.\"]\n",
     "t.toml:4: domains.local[0]: write \"example.com.\" without the trailing dot"},
    {"DomainUnderscore", "[domains]\nlocal = [\n  \"example.com\",\n  \"bad_domain.com\",\n]\n",
     "t.toml:6: domains.local[1]: expected a domain name, got \"bad_domain.com\""},
    {"DomainLabelDash", "[domains]\nlocal = [\"-example.com\"]\n",
     "t.toml:4: domains.local[0]: expected a domain name, got \"-example.com\""},
    {"DomainsNotArray", "[domains]\nlocal = \"example.com\"\n",
     "t.toml:4: domains.local: expected an array of strings, got \"example.com\""},
    {"DomainNotString", "[domains]\nlocal = [1]\n", "t.toml:4: domains.local[0]: expected a string, got 1"},
    // [relay]
    {"CidrHostBits", "[relay]\nallow_networks = [\"10.0.0.1/8\"]\n",
     "t.toml:4: relay.allow_networks[0]: expected a network like \"10.0.0.0/8\" or \"2001:db8::/32\" with no host "
     "bits set, got \"10.0.0.1/8\""},
    {"CidrGarbageOnItsLine", "[relay]\nallow_networks = [\n  \"127.0.0.1/32\",\n  \"::1/129\",\n]\n",
     "t.toml:6: relay.allow_networks[1]: expected a network like \"10.0.0.0/8\" or \"2001:db8::/32\" with no host "
     "bits set, got \"::1/129\""},
    // [queue]
    {"RetryEmpty", "[queue]\nretry_schedule = []\n",
     "t.toml:4: queue.retry_schedule: expected a non-empty array of durations, got an array"},
    {"RetryBadEntry", "[queue]\nretry_schedule = [\"1m\",\n  \"soon\"]\n",
     "t.toml:5: queue.retry_schedule[1]: expected a positive duration (seconds, or a string like \"30s\", \"5m\", "
     "\"4h\", \"5d\", \"250ms\"), got \"soon\""},
    {"MaxAgeBool", "[queue]\nmax_age = true\n",
     "t.toml:4: queue.max_age: expected a positive duration (seconds, or a string like \"30s\", \"5m\", \"4h\", "
     "\"5d\", \"250ms\"), got true"},
    // [delivery]
    {"ResolverName", "[delivery]\nresolver = \"dns.google:53\"\n",
     "t.toml:4: delivery.resolver: host must be an IP address, got \"dns.google\""},
    {"ResolverNoPort", "[delivery]\nresolver = \"127.0.0.1\"\n",
     "t.toml:4: delivery.resolver: expected \"host:port\", got \"127.0.0.1\""},
    {"MxPortZero", "[delivery]\nmx_port = 0\n", "t.toml:4: delivery.mx_port: expected a positive integer, got 0"},
    {"MxPortHigh", "[delivery]\nmx_port = 70000\n", "t.toml:4: delivery.mx_port: expected at most 65535, got 70000"},
    {"SmarthostBadPort", "[delivery]\nsmarthost = \"relay.example.com:0\"\n",
     "t.toml:4: delivery.smarthost: port must be 1..65535, got 0"},
    {"SmarthostBadHost", "[delivery]\nsmarthost = \"relay example.com:25\"\n",
     "t.toml:4: delivery.smarthost: \"relay example.com\" is neither a host name nor an IP address"},
    {"SmarthostAuthHalf", "[delivery]\nsmarthost_auth = { user = \"u\" }\n",
     "t.toml:4: delivery.smarthost_auth: set both user and password, or neither"},
    {"SmarthostAuthNotTable", "[delivery]\nsmarthost_auth = \"u:p\"\n",
     "t.toml:4: delivery.smarthost_auth: expected a table, got \"u:p\""},
    {"DeliveryTls", "[delivery]\ntls = \"always\"\n",
     "t.toml:4: delivery.tls: expected one of \"opportunistic\", \"required\", \"none\", got \"always\""},
    {"SourceAddressBad", "[delivery]\nsource_addresses = [\"192.0.2.1\", \"192.0.2.999\"]\n",
     "t.toml:4: delivery.source_addresses[1]: expected an IP address, got \"192.0.2.999\""},
    {"SourceAddressTwice", "[delivery]\nsource_addresses = [\"192.0.2.1\", \"192.0.2.1\"]\n",
     "t.toml:4: delivery.source_addresses[1]: \"192.0.2.1\" is listed twice"},
    {"DeliveryConnectionsZero", "[delivery]\nmax_connections = 0\n",
     "t.toml:4: delivery.max_connections: expected a positive integer, got 0"},
    {"PerDomainZero", "[delivery]\ndefault_max_connections_per_domain = 0\n",
     "t.toml:4: delivery.default_max_connections_per_domain: expected a positive integer, got 0"},
    {"PerConnectionZero", "[delivery]\ndefault_max_messages_per_connection = 0\n",
     "t.toml:4: delivery.default_max_messages_per_connection: expected a positive integer, got 0"},
    // [[delivery.shaping]]
    {"ShapingNoMatch", "[[delivery.shaping]]\nmax_connections = 5\n",
     "t.toml:3: delivery.shaping[0].match: missing (required)"},
    {"ShapingRateUnit", "[[delivery.shaping]]\nmatch = \"a.com\"\nmax_rate = \"100/w\"\n",
     "t.toml:5: delivery.shaping[0].max_rate: expected \"N/s\", \"N/m\", \"N/h\" or \"N/d\" with N > 0, got "
     "\"100/w\""},
    {"ShapingRateZero", "[[delivery.shaping]]\nmatch = \"a.com\"\nmax_rate = \"0/h\"\n",
     "t.toml:5: delivery.shaping[0].max_rate: expected \"N/s\", \"N/m\", \"N/h\" or \"N/d\" with N > 0, got "
     "\"0/h\""},
    {"ShapingConnectionsZero", "[[delivery.shaping]]\nmatch = \"a.com\"\nmax_connections = 0\n",
     "t.toml:5: delivery.shaping[0].max_connections: expected a positive integer, got 0"},
    {"ShapingDuplicate", "[[delivery.shaping]]\nmatch = \"a.com\"\n[[delivery.shaping]]\nmatch = \"A.com\"\n",
     "t.toml:6: delivery.shaping[1].match: \"a.com\" has a rule already"},
    // [[dkim]]
    {"DkimAlgorithm", "[[dkim]]\ndomain = \"example.com\"\nselector = \"s\"\nkey = \"k\"\nalgorithm = \"rsa-sha1\"\n",
     "t.toml:7: dkim[0].algorithm: expected one of \"rsa-sha256\", \"ed25519-sha256\", got \"rsa-sha1\""},
    {"DkimNoKey", "[[dkim]]\ndomain = \"example.com\"\nselector = \"s\"\n", "t.toml:3: dkim[0].key: missing (required)"},
    {"DkimEmptyKey", "[[dkim]]\ndomain = \"example.com\"\nselector = \"s\"\nkey = \"\"\n",
     "t.toml:6: dkim[0].key: expected the path of a PEM private key, got \"\""},
    {"DkimDomainDot", "[[dkim]]\ndomain = \"example.com.\"\nselector = \"s\"\nkey = \"k\"\n",
     "t.toml:4: dkim[0].domain: write the domain without the trailing dot"},
    {"DkimTwice",
     "[[dkim]]\ndomain = \"example.com\"\nselector = \"s\"\nkey = \"k\"\n"
     "[[dkim]]\ndomain = \"EXAMPLE.com\"\nselector = \"s\"\nkey = \"k2\"\n",
     "t.toml:7: dkim[1]: selector \"s\" of \"example.com\" is configured twice"},
    // [inbound], [mailbox], [api], delivery.mta_sts/dane
    {"InboundDmarc", "[inbound]\ndmarc = \"reject\"\n",
     "t.toml:4: inbound.dmarc: expected one of \"enforce\", \"report\", \"off\", got \"reject\""},
    {"InboundDmarcWithoutDkim", "[inbound]\ndkim_verify = false\n",
     "t.toml:3: inbound.dmarc: DMARC needs both inbound.spf and inbound.dkim_verify on (set dmarc = \"off\" to turn "
     "them off)"},
    {"InboundDmarcWithoutSpf", "[inbound]\nspf = false\ndmarc = \"enforce\"\n",
     "t.toml:5: inbound.dmarc: DMARC needs both inbound.spf and inbound.dkim_verify on (set dmarc = \"off\" to turn "
     "them off)"},
    {"InboundSpfNotBool", "[inbound]\nspf = \"yes\"\n", "t.toml:4: inbound.spf: expected true or false, got \"yes\""},
    {"MailboxQuota", "[mailbox]\nquota = \"lots\"\n",
     "t.toml:4: mailbox.quota: expected a size (bytes, or a string like \"50MB\"), got \"lots\""},
    {"DeliveryMtaSts", "[delivery]\nmta_sts = 1\n", "t.toml:4: delivery.mta_sts: expected true or false, got 1"},
    {"DeliveryCaFile", "[delivery]\nca_file = 5\n", "t.toml:4: delivery.ca_file: expected a string, got 5"},
    {"DeliveryMtaStsPort", "[delivery]\nmta_sts_port = 0\n",
     "t.toml:4: delivery.mta_sts_port: expected a positive integer, got 0"},
    {"ApiUrl", "[api]\npublic_url = \"mail.example.com\"\n",
     "t.toml:4: api.public_url: expected an http:// or https:// URL, got \"mail.example.com\""},
    {"ApiRate", "[api]\nrate_limit = \"fast\"\n",
     "t.toml:4: api.rate_limit: expected \"N/s\", \"N/m\", \"N/h\" or \"N/d\" with N > 0, got \"fast\""},
    {"ApiMaxRequestSize", "[api]\nmax_request_size = 0\n",
     "t.toml:4: api.max_request_size: expected a positive size (bytes, or a string like \"50MB\"), got 0"},
    {"HttpStartTls", "[[listener]]\naddress = \"127.0.0.1:8025\"\nprotocol = \"http\"\ntls = \"starttls\"\n",
     "t.toml:6: listener[1].tls: http listeners take tls = \"none\" or \"implicit\", not \"starttls\""},
    {"ApiComplaints", "[api]\ncomplaints_address = \"fbl\"\n",
     "t.toml:4: api.complaints_address: expected an address like \"fbl@example.com\", got \"fbl\""},
    // ordering: the earliest line wins, whatever order the sections are checked in
    {"EarliestLineWins", "[tls]\nmin_version = \"1.1\"\n[limits]\nmax_recipients = 0\n",
     "t.toml:4: tls.min_version: expected one of \"1.2\", \"1.3\", got \"1.1\""},
};

class BadValue : public testing::TestWithParam<ErrorCase> {};
TEST_P(BadValue, RefusedWithKeyAndLine) { EXPECT_EQ(error_of(with_listener(GetParam().toml)), GetParam().error); }
INSTANTIATE_TEST_SUITE_P(Config, BadValue, testing::ValuesIn(kBadValues), case_name);

// ---- whole files: listeners, and top-level keys (which must come before any [table]) ----

const ErrorCase kWholeFileErrors[] = {
    {"TopLevelUnknownKey", "bogus = 1\n[[listener]]\naddress = \"127.0.0.1:25\"\n", "t.toml:1: bogus: unknown key"},
    {"TopLevelServerNotTable", "\nserver = 5\n[[listener]]\naddress = \"127.0.0.1:25\"\n",
     "t.toml:2: server: expected a table, got 5"},
    {"None", "", "t.toml:1: listener: no [[listener]] configured"},
    {"NoneWithOtherSections", "[server]\nthreads = 1\n", "t.toml:1: listener: no [[listener]] configured"},
    {"SectionErrorBeatsNone", "\n[server]\nthreads = -1\n",
     "t.toml:3: server.threads: expected a non-negative integer, got -1"},
    {"EmptyArray", "listener = []\n", "t.toml:1: listener: no [[listener]] configured"},
    {"ArrayOfStrings", "listener = [\"127.0.0.1:25\"]\n",
     "t.toml:1: listener: expected an array of tables ([[listener]]), got an array"},
    {"SingleTable", "[listener]\naddress = \"127.0.0.1:25\"\n",
     "t.toml:1: listener: expected an array of tables ([[listener]]), got a table"},
    {"MissingAddress", "\n[[listener]]\nname = \"x\"\n", "t.toml:2: listener[0].address: missing (required)"},
    {"NoPort", "[[listener]]\naddress = \"127.0.0.1\"\n",
     "t.toml:2: listener[0].address: expected \"host:port\", got \"127.0.0.1\""},
    {"PortZero", "[[listener]]\naddress = \"127.0.0.1:0\"\n",
     "t.toml:2: listener[0].address: port must be 1..65535, got 0"},
    {"PortTooHigh", "[[listener]]\naddress = \"127.0.0.1:65536\"\n",
     "t.toml:2: listener[0].address: port must be 1..65535, got 65536"},
    {"PortNotNumber", "[[listener]]\naddress = \"127.0.0.1:2x5\"\n",
     "t.toml:2: listener[0].address: bad port \"2x5\""},
    {"EmptyHost", "[[listener]]\naddress = \":25\"\n", "t.toml:2: listener[0].address: empty host in \":25\""},
    {"V6WithoutBrackets", "[[listener]]\naddress = \"::1:25\"\n",
     "t.toml:2: listener[0].address: IPv6 addresses must be in brackets, like \"[::1]:25\""},
    {"V6NoColonAfterBracket", "[[listener]]\naddress = \"[::1]25\"\n",
     "t.toml:2: listener[0].address: missing \":port\" in \"[::1]25\""},
    {"V6Unclosed", "[[listener]]\naddress = \"[::1:25\"\n",
     "t.toml:2: listener[0].address: missing ']' after the IPv6 address"},
    {"V4InBrackets", "[[listener]]\naddress = \"[127.0.0.1]:25\"\n",
     "t.toml:2: listener[0].address: \"127.0.0.1\" in brackets is not an IPv6 address"},
    {"HostName", "[[listener]]\naddress = \"mail.example.com:25\"\n",
     "t.toml:2: listener[0].address: host must be an IP address or \"localhost\", got \"mail.example.com\""},
    {"AddressNotString", "[[listener]]\naddress = 25\n", "t.toml:2: listener[0].address: expected a string, got 25"},
    {"Protocol", "[[listener]]\naddress = \"127.0.0.1:25\"\nprotocol = \"smtps\"\n",
     "t.toml:3: listener[0].protocol: expected one of \"smtp\", \"pop3\", \"imap\", \"http\", got \"smtps\""},
    {"Role", "[[listener]]\naddress = \"127.0.0.1:25\"\nrole = \"relay\"\n",
     "t.toml:3: listener[0].role: expected one of \"mx\", \"submission\", got \"relay\""},
    {"SubmissionRoleOnPop3", "[[listener]]\naddress = \"127.0.0.1:110\"\nprotocol = \"pop3\"\nrole = \"submission\"\n",
     "t.toml:4: listener[0].role: only smtp listeners have a role"},
    {"Tls", "[[listener]]\naddress = \"127.0.0.1:25\"\ntls = \"ssl\"\n",
     "t.toml:3: listener[0].tls: expected one of \"none\", \"starttls\", \"implicit\", got \"ssl\""},
    {"RequireTlsNotBool", "[[listener]]\naddress = \"127.0.0.1:25\"\nrequire_tls_for_auth = \"yes\"\n",
     "t.toml:3: listener[0].require_tls_for_auth: expected true or false, got \"yes\""},
    {"BadName", "[[listener]]\naddress = \"127.0.0.1:25\"\nname = \"my listener\"\n",
     "t.toml:3: listener[0].name: expected a name of 1..64 letters, digits, '-', '_' or '.', got \"my listener\""},
    {"DuplicateName",
     "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:25\"\n[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:26\"\n",
     "t.toml:5: listener[1].name: duplicate name \"a\" (also listener[0])"},
    {"DuplicateDefaultName", "[[listener]]\naddress = \"127.0.0.1:25\"\n[[listener]]\naddress = \"127.0.0.2:25\"\n",
     "t.toml:3: listener[1].name: duplicate name \"smtp-25\" (also listener[0])"},
    {"DuplicateAddress",
     "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:25\"\n[[listener]]\nname = \"b\"\naddress = \"127.0.0.1:25\"\n",
     "t.toml:6: listener[1].address: \"127.0.0.1:25\" is already used by listener[0] (\"a\")"},
    {"DuplicateAddressMappedV6",
     "[[listener]]\nname = \"a\"\naddress = \"localhost:25\"\n[[listener]]\nname = \"b\"\n"
     "address = \"[::ffff:127.0.0.1]:25\"\n",
     "t.toml:6: listener[1].address: \"[::ffff:127.0.0.1]:25\" is already used by listener[0] (\"a\")"},
    {"UnknownKeyInFirst", "[[listener]]\naddress = \"127.0.0.1:25\"\nrole = \"mx\"\nproto = \"smtp\"\n",
     "t.toml:4: listener[0].proto: unknown key"},
};

class WholeFileError : public testing::TestWithParam<ErrorCase> {};
TEST_P(WholeFileError, Refused) { EXPECT_EQ(error_of(GetParam().toml), GetParam().error); }
INSTANTIATE_TEST_SUITE_P(Config, WholeFileError, testing::ValuesIn(kWholeFileErrors), case_name);

// ---- aliases (need domains.local) ----

const ErrorCase kAliasErrors[] = {
    {"NonLocalDomain", "[domains]\nlocal = [\"example.com\"]\n[aliases]\n\"bob@other.com\" = \"alice@example.com\"\n",
     "t.toml:6: aliases.\"bob@other.com\": \"other.com\" is not in domains.local"},
    {"NoLocalDomains", "[aliases]\n\"bob@example.com\" = \"alice@example.com\"\n",
     "t.toml:4: aliases.\"bob@example.com\": \"example.com\" is not in domains.local"},
    {"PostmasterWithoutDomains", "[aliases]\npostmaster = \"alice@example.com\"\n",
     "t.toml:4: aliases.postmaster: \"postmaster\" without a domain needs at least one domains.local entry"},
    {"KeyNotAddress", "[domains]\nlocal = [\"example.com\"]\n[aliases]\nbob = \"alice@example.com\"\n",
     "t.toml:6: aliases.bob: expected an address like \"user@example.com\" (or \"postmaster\") as the alias"},
    {"TargetNotAddress", "[domains]\nlocal = [\"example.com\"]\n[aliases]\n\"bob@example.com\" = \"alice\"\n",
     "t.toml:6: aliases.\"bob@example.com\": expected an address like \"user@example.com\", got \"alice\""},
    {"TargetWithSpace",
     "[domains]\nlocal = [\"example.com\"]\n[aliases]\n\"bob@example.com\" = [\"a@example.com\",\n  \"b c@example.com\"]\n",
     "t.toml:7: aliases.\"bob@example.com\"[1]: expected an address like \"user@example.com\", got \"b c@example.com\""},
    {"TargetTwoAts", "[domains]\nlocal = [\"example.com\"]\n[aliases]\n\"bob@example.com\" = \"a@b@example.com\"\n",
     "t.toml:6: aliases.\"bob@example.com\": expected an address like \"user@example.com\", got \"a@b@example.com\""},
    {"NoTargets", "[domains]\nlocal = [\"example.com\"]\n[aliases]\n\"bob@example.com\" = []\n",
     "t.toml:6: aliases.\"bob@example.com\": needs at least one target address"},
    {"TargetNumber", "[domains]\nlocal = [\"example.com\"]\n[aliases]\n\"bob@example.com\" = 5\n",
     "t.toml:6: aliases.\"bob@example.com\": expected an address or an array of addresses, got 5"},
    {"SameAddressTwice",
     "[domains]\nlocal = [\"example.com\"]\n[aliases]\n\"bob@example.com\" = \"a@example.com\"\n"
     "\"Bob@Example.com\" = \"b@example.com\"\n",
     "t.toml:6: aliases.\"bob@example.com\": \"bob@example.com\" is already defined by aliases.\"Bob@Example.com\""},
    {"PostmasterTwice",
     "[domains]\nlocal = [\"example.com\"]\n[aliases]\npostmaster = \"a@example.com\"\n"
     "\"postmaster@example.com\" = \"b@example.com\"\n",
     "t.toml:7: aliases.\"postmaster@example.com\": \"postmaster@example.com\" is already defined by "
     "aliases.postmaster"},
};

class AliasError : public testing::TestWithParam<ErrorCase> {};
TEST_P(AliasError, Refused) { EXPECT_EQ(error_of(with_listener(GetParam().toml)), GetParam().error); }
INSTANTIATE_TEST_SUITE_P(Config, AliasError, testing::ValuesIn(kAliasErrors), case_name);

// ---------------------------------------------------------------- accepted values

TEST(ConfigValues, DefaultsWhenKeysAreAbsent) {
  auto r = load(kListener);
  ASSERT_TRUE(r) << r.error().message;
  const Config& c = *r;
  const Config defaults;  // the struct's own defaults are the documented ones
  EXPECT_FALSE(c.server.hostname.empty());
  EXPECT_EQ(c.server.data_dir, "/var/lib/volley");
  EXPECT_EQ(c.server.threads, 0u);
  EXPECT_EQ(c.server.shutdown_timeout, 30s);
  EXPECT_EQ(c.log.format, LogFormat::KeyValue);
  EXPECT_EQ(c.log.level, "info");

  ASSERT_EQ(c.listeners.size(), 1u);
  const Listener& l = c.listeners[0];
  EXPECT_EQ(l.name, "smtp-25");
  EXPECT_EQ(l.host, "127.0.0.1");
  EXPECT_EQ(l.port, 25);
  EXPECT_EQ(l.protocol, Protocol::Smtp);
  EXPECT_EQ(l.role, SmtpRole::Mx);
  EXPECT_EQ(l.tls, TlsMode::None);
  EXPECT_TRUE(l.require_tls_for_auth);

  EXPECT_EQ(c.tls.cert, "");
  EXPECT_EQ(c.tls.key, "");
  EXPECT_EQ(c.tls.min_version, "1.2");

  EXPECT_EQ(c.limits.max_message_size, 50ull * 1024 * 1024);
  EXPECT_EQ(c.limits.max_recipients, 1000u);
  EXPECT_EQ(c.limits.max_connections, 20000u);
  EXPECT_EQ(c.limits.max_connections_per_ip, 100u);
  EXPECT_EQ(c.limits.max_auth_failures, 5u);
  EXPECT_EQ(c.limits.command_timeout, 5min);
  EXPECT_EQ(c.limits.data_timeout, 10min);
  EXPECT_EQ(c.limits.max_line_length, 64u * 1024);
  EXPECT_EQ(c.limits.max_errors, 20u);
  EXPECT_EQ(c.limits.auth_failure_delay, 1s);
  EXPECT_EQ(c.limits.auth_failure_max_delay, 10s);
  EXPECT_EQ(c.limits.auth_failure_window, 15min);
  EXPECT_EQ(c.limits.max_junk_commands, 100u);
  EXPECT_EQ(c.limits.errors_before_delay, 10u);
  EXPECT_EQ(c.limits.error_delay, 1s);
  EXPECT_EQ(c.limits.max_connection_lifetime, 1h);
  EXPECT_EQ(c.limits.min_data_rate, 500u);
  EXPECT_EQ(c.limits.listen_backlog, 1024u);

  EXPECT_TRUE(c.local_domains.empty());
  EXPECT_TRUE(c.aliases.empty());
  EXPECT_TRUE(c.relay_networks.empty());
  EXPECT_EQ(c.queue.retry_schedule, defaults.queue.retry_schedule);
  EXPECT_EQ(c.queue.max_age, 24h * 5);
  EXPECT_EQ(c.delivery.resolver, "");
  EXPECT_EQ(c.delivery.mx_port, 25);
  EXPECT_EQ(c.delivery.tls, "opportunistic");
  EXPECT_EQ(c.delivery.max_connections, 2000u);
  EXPECT_EQ(c.delivery.default_max_connections_per_domain, 20u);
  EXPECT_EQ(c.delivery.default_max_messages_per_connection, 100u);
  EXPECT_TRUE(c.delivery.shaping.empty());
  EXPECT_TRUE(c.dkim.empty());
  EXPECT_TRUE(c.delivery.mta_sts);
  EXPECT_TRUE(c.delivery.dane);
  EXPECT_TRUE(c.inbound.spf);
  EXPECT_TRUE(c.inbound.dkim_verify);
  EXPECT_EQ(c.inbound.dmarc, DmarcMode::Report);  // refuses nothing until the operator opts in
  EXPECT_EQ(c.mailbox.quota, 0u);
}

TEST(ConfigValues, DefaultHostnameComesFromTheSystem) {
  char buf[256] = {};
  ASSERT_EQ(gethostname(buf, sizeof buf - 1), 0);
  auto r = load(kListener);
  ASSERT_TRUE(r);
  // gethostname() unless it is not a usable hostname
  if (std::string(buf).find('_') == std::string::npos && buf[0] != '\0') {
    EXPECT_EQ(r->server.hostname, buf);
  }
  EXPECT_EQ(development_default().server.hostname, r->server.hostname);
}

// One accepted value per row: the text after kListener and a check of the result.
struct GoodCase {
  const char* name;
  std::string_view toml;
  std::function<void(const Config&)> check;
};

void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.name; }

const GoodCase kGoodValues[] = {
    {"ServerUser", "[server]\nuser = \"volley\"\n", [](const Config& c) { EXPECT_EQ(c.server.user, "volley"); }},
    {"ServerUserEmpty", "[server]\nuser = \"\"\n", [](const Config& c) { EXPECT_EQ(c.server.user, ""); }},
    {"SizeInteger", "[limits]\nmax_message_size = 1024\n",
     [](const Config& c) { EXPECT_EQ(c.limits.max_message_size, 1024u); }},
    {"SizeDigitsString", "[limits]\nmax_message_size = \"1024\"\n",
     [](const Config& c) { EXPECT_EQ(c.limits.max_message_size, 1024u); }},
    {"SizeKiB", "[limits]\nmax_message_size = \"512KiB\"\n",
     [](const Config& c) { EXPECT_EQ(c.limits.max_message_size, 512u * 1024); }},
    {"SizeGbLowercase", "[limits]\nmax_message_size = \"1gb\"\n",
     [](const Config& c) { EXPECT_EQ(c.limits.max_message_size, 1024ull * 1024 * 1024); }},
    {"LineLengthMinimum", "[limits]\nmax_line_length = 1000\n",
     [](const Config& c) { EXPECT_EQ(c.limits.max_line_length, 1000u); }},
    {"DurationInteger", "[limits]\ncommand_timeout = 30\n",
     [](const Config& c) { EXPECT_EQ(c.limits.command_timeout, 30s); }},
    {"DurationMs", "[limits]\ncommand_timeout = \"250ms\"\n",
     [](const Config& c) { EXPECT_EQ(c.limits.command_timeout, 250ms); }},
    {"DurationDays", "[queue]\nmax_age = \"2d\"\n", [](const Config& c) { EXPECT_EQ(c.queue.max_age, 48h); }},
    {"AuthDelayZero", "[limits]\nauth_failure_delay = 0\nauth_failure_max_delay = 0\n",
     [](const Config& c) { EXPECT_EQ(c.limits.auth_failure_max_delay, 0ms); }},
    {"AllServerKeys", "[server]\nhostname = \"MX1.example.com\"\ndata_dir = \"/srv/v\"\nthreads = 4\n"
                      "shutdown_timeout = \"1m\"\n",
     [](const Config& c) {
       EXPECT_EQ(c.server.hostname, "MX1.example.com");
       EXPECT_EQ(c.server.data_dir, "/srv/v");
       EXPECT_EQ(c.server.threads, 4u);
       EXPECT_EQ(c.server.shutdown_timeout, 1min);
     }},
    {"LogJsonDebug", "[log]\nformat = \"json\"\nlevel = \"debug\"\n",
     [](const Config& c) {
       EXPECT_EQ(c.log.format, LogFormat::Json);
       EXPECT_EQ(c.log.level, "debug");
     }},
    {"TlsEmptyPairIsSelfSigned", "[tls]\ncert = \"\"\nkey = \"\"\nmin_version = \"1.3\"\n",
     [](const Config& c) { EXPECT_EQ(c.tls.min_version, "1.3"); }},
    {"DomainsLowercasedDeduplicated", "[domains]\nlocal = [\"Example.COM\", \"example.com\", \"b.example\"]\n",
     [](const Config& c) { EXPECT_EQ(c.local_domains, (std::vector<std::string>{"example.com", "b.example"})); }},
    {"AliasesResolved",
     "[domains]\nlocal = [\"example.com\", \"example.org\"]\n[aliases]\npostmaster = [\"Alice@EXAMPLE.com\", "
     "\"Alice@example.com\"]\n\"Info@Example.org\" = \"bob@gmail.com\"\n",
     [](const Config& c) {
       ASSERT_EQ(c.aliases.size(), 2u);
       EXPECT_EQ(c.aliases.at("postmaster@example.com"), std::vector<std::string>{"Alice@example.com"});
       EXPECT_EQ(c.aliases.at("info@example.org"), std::vector<std::string>{"bob@gmail.com"});
     }},
    {"AliasQuotedLocalPart", "[domains]\nlocal = [\"example.com\"]\n[aliases]\n'\"a@b\"@example.com' = \"x@example.com\"\n",
     [](const Config& c) { EXPECT_EQ(c.aliases.count("\"a@b\"@example.com"), 1u); }},
    {"RelayNetworks", "[relay]\nallow_networks = [\"10.0.0.0/8\", \"::1\", \"2001:db8::/32\"]\n",
     [](const Config& c) {
       ASSERT_EQ(c.relay_networks.size(), 3u);
       EXPECT_EQ(c.relay_networks[1].to_string(), "::1/128");
       EXPECT_TRUE(c.relay_networks[0].contains(*net::IpAddress::parse("10.9.8.7")));
     }},
    {"DeliveryEndpoints",
     "[delivery]\nresolver = \"[::1]:5353\"\nsmarthost = \"relay.example.com:587\"\n"
     "smarthost_auth = { user = \"u\", password = \"p w\" }\nmx_port = 2525\ntls = \"required\"\n"
     "source_addresses = [\"192.0.2.1\", \"2001:db8::1\"]\n",
     [](const Config& c) {
       EXPECT_EQ(c.delivery.resolver, "[::1]:5353");
       EXPECT_EQ(c.delivery.smarthost, "relay.example.com:587");
       EXPECT_EQ(c.delivery.smarthost_user, "u");
       EXPECT_EQ(c.delivery.smarthost_password, "p w");
       EXPECT_EQ(c.delivery.mx_port, 2525);
       EXPECT_EQ(c.delivery.tls, "required");
       EXPECT_EQ(c.delivery.source_addresses, (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
     }},
    {"SmarthostAuthAsTable", "[delivery.smarthost_auth]\nuser = \"u\"\npassword = \"p\"\n",
     [](const Config& c) { EXPECT_EQ(c.delivery.smarthost_user, "u"); }},
    {"ShapingRates",
     "[[delivery.shaping]]\nmatch = \"*.Outlook.com\"\nmax_rate = \"10/s\"\n"
     "[[delivery.shaping]]\nmatch = \"yahoo.com\"\nmax_rate = \"5/m\"\n"
     "[[delivery.shaping]]\nmatch = \"aol.com\"\nmax_rate = \"100000/d\"\n"
     "[[delivery.shaping]]\nmatch = \"gmx.de\"\n",
     [](const Config& c) {
       ASSERT_EQ(c.delivery.shaping.size(), 4u);
       EXPECT_EQ(c.delivery.shaping[0].match, "*.outlook.com");
       EXPECT_EQ(c.delivery.shaping[0].rate_period, 1s);
       EXPECT_EQ(c.delivery.shaping[1].rate_count, 5u);
       EXPECT_EQ(c.delivery.shaping[1].rate_period, 1min);
       EXPECT_EQ(c.delivery.shaping[2].rate_period, 24h);
       EXPECT_EQ(c.delivery.shaping[3].max_connections, 0u);  // inherits the default
       EXPECT_EQ(c.delivery.shaping[3].rate_count, 0u);        // unlimited
     }},
    {"IntakeLimits",
     "[limits]\nmax_junk_commands = 7\nmax_connection_lifetime = \"90s\"\nmin_data_rate = \"2KB\"\n"
     "listen_backlog = 64\nerrors_before_delay = 0\nerror_delay = \"250ms\"\n",
     [](const Config& c) {
       EXPECT_EQ(c.limits.errors_before_delay, 0u);
       EXPECT_EQ(c.limits.error_delay, 250ms);
       EXPECT_EQ(c.limits.max_junk_commands, 7u);
       EXPECT_EQ(c.limits.max_connection_lifetime, 90s);
       EXPECT_EQ(c.limits.min_data_rate, 2048u);  // KB are 1024 bytes, as in Postfix
       EXPECT_EQ(c.limits.listen_backlog, 64u);
     }},
    {"MinDataRateZeroTurnsItOff", "[limits]\nmin_data_rate = 0\n",
     [](const Config& c) { EXPECT_EQ(c.limits.min_data_rate, 0u); }},
    {"EmptyArraysOfTables", "[delivery]\nshaping = []\n[[listener]]\naddress = \"127.0.0.1:26\"\n",
     [](const Config& c) { EXPECT_TRUE(c.delivery.shaping.empty()); }},
    {"DkimEd25519",
     "[[dkim]]\ndomain = \"Example.com\"\nselector = \"ed.2026\"\nkey = \"k.pem\"\nalgorithm = \"ed25519-sha256\"\n",
     [](const Config& c) {
       ASSERT_EQ(c.dkim.size(), 1u);
       EXPECT_EQ(c.dkim[0].domain, "example.com");
       EXPECT_EQ(c.dkim[0].selector, "ed.2026");
       EXPECT_EQ(c.dkim[0].algorithm, "ed25519-sha256");
     }},
    {"ListenersOfEveryKind",
     "[[listener]]\naddress = \"[::]:587\"\nrole = \"submission\"\ntls = \"starttls\"\nrequire_tls_for_auth = false\n"
     "[[listener]]\naddress = \"0.0.0.0:995\"\nprotocol = \"pop3\"\ntls = \"implicit\"\nrole = \"mx\"\n"
     "[[listener]]\nname = \"api\"\naddress = \"localhost:8025\"\nprotocol = \"http\"\n"
     "[[listener]]\naddress = \"127.0.0.1:143\"\nprotocol = \"imap\"\n",
     [](const Config& c) {
       ASSERT_EQ(c.listeners.size(), 5u);
       EXPECT_EQ(c.listeners[1].name, "smtp-587");
       EXPECT_EQ(c.listeners[1].host, "::");
       EXPECT_EQ(c.listeners[1].address, "[::]:587");
       EXPECT_EQ(c.listeners[1].role, SmtpRole::Submission);
       EXPECT_FALSE(c.listeners[1].require_tls_for_auth);
       EXPECT_EQ(c.listeners[2].name, "pop3-995");
       EXPECT_EQ(c.listeners[2].tls, TlsMode::Implicit);
       EXPECT_EQ(c.listeners[3].name, "api");
       EXPECT_EQ(c.listeners[3].host, "127.0.0.1");
       EXPECT_EQ(c.listeners[3].address, "localhost:8025");
       EXPECT_EQ(c.listeners[3].protocol, Protocol::Http);
       EXPECT_EQ(c.listeners[4].protocol, Protocol::Imap);
     }},
};

class GoodValue : public testing::TestWithParam<GoodCase> {};
TEST_P(GoodValue, Accepted) {
  auto r = load(with_listener(GetParam().toml));
  ASSERT_TRUE(r) << r.error().message;
  GetParam().check(*r);
}
INSTANTIATE_TEST_SUITE_P(Config, GoodValue, testing::ValuesIn(kGoodValues),
                         [](const testing::TestParamInfo<GoodCase>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------- files and syntax

TEST(ConfigFile, MissingFile) {
  auto r = load_file("/nonexistent/volley.toml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "/nonexistent/volley.toml: cannot read: No such file or directory");
}

TEST(ConfigFile, DirectoryIsNotAFile) {
  TempDir dir;
  auto r = load_file(dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, dir.path() + ": cannot read: Is a directory");
}

TEST(ConfigFile, LoadsAndNamesTheFileInErrors) {
  TempDir dir;
  const std::string good = dir.write("good.toml", kListener);
  auto r = load_file(good);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->source_path, good);

  const std::string bad = dir.write("bad.toml", with_listener("[limits]\nmax_recipients = 0\n"));
  auto e = load_file(bad);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, bad + ":4: limits.max_recipients: expected a positive integer, got 0");
}

TEST(ConfigFile, SyntaxErrorHasTheLine) {
  auto r = load(with_listener("[server]\nthreads = = 2\n"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("t.toml:4: ", 0), 0u) << r.error().message;
}

TEST(ConfigFile, DuplicateKeyIsASyntaxError) {
  auto r = load(with_listener("[server]\nthreads = 1\nthreads = 2\n"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("t.toml:5: ", 0), 0u) << r.error().message;
}

// ---------------------------------------------------------------- development default

TEST(ConfigDevelopmentDefault, MatchesSpecSection1) {
  const Config c = development_default();
  EXPECT_EQ(c.source_path, "");
  EXPECT_FALSE(c.server.hostname.empty());
  EXPECT_EQ(c.server.data_dir, "./volley-data");
  ASSERT_EQ(c.listeners.size(), 4u);

  const Listener& smtp = c.listeners[0];
  EXPECT_EQ(smtp.name, "smtp");
  EXPECT_EQ(smtp.address, "127.0.0.1:2525");
  EXPECT_EQ(smtp.host, "127.0.0.1");
  EXPECT_EQ(smtp.port, 2525);
  EXPECT_EQ(smtp.protocol, Protocol::Smtp);
  EXPECT_EQ(smtp.role, SmtpRole::Mx);
  EXPECT_EQ(smtp.tls, TlsMode::StartTls);

  const Listener& sub = c.listeners[1];
  EXPECT_EQ(sub.name, "submission");
  EXPECT_EQ(sub.address, "127.0.0.1:2587");
  EXPECT_EQ(sub.host, "127.0.0.1");
  EXPECT_EQ(sub.port, 2587);
  EXPECT_EQ(sub.protocol, Protocol::Smtp);
  EXPECT_EQ(sub.role, SmtpRole::Submission);
  EXPECT_EQ(sub.tls, TlsMode::StartTls);
  EXPECT_TRUE(sub.require_tls_for_auth);

  // SPEC 1: POP3 on 127.0.0.1:2110, STLS, no login in clear.
  const Listener& pop3 = c.listeners[2];
  EXPECT_EQ(pop3.name, "pop3");
  EXPECT_EQ(pop3.address, "127.0.0.1:2110");
  EXPECT_EQ(pop3.port, 2110);
  EXPECT_EQ(pop3.protocol, Protocol::Pop3);
  EXPECT_EQ(pop3.tls, TlsMode::StartTls);
  EXPECT_TRUE(pop3.require_tls_for_auth);
  // SPEC 1: HTTP on 127.0.0.1:8025, plain (loopback only).
  const Listener& http = c.listeners[3];
  EXPECT_EQ(http.name, "http");
  EXPECT_EQ(http.address, "127.0.0.1:8025");
  EXPECT_EQ(http.port, 8025);
  EXPECT_EQ(http.protocol, Protocol::Http);
  EXPECT_EQ(http.tls, TlsMode::None);
  EXPECT_EQ(c.api.max_request_size, 64ull * 1024 * 1024);
  // No private resolver to point inbound checks at: they are off.
  EXPECT_FALSE(c.inbound.spf);
  EXPECT_FALSE(c.inbound.dkim_verify);
  EXPECT_EQ(c.inbound.dmarc, DmarcMode::Off);

  EXPECT_EQ(c.local_domains, std::vector<std::string>{"localhost.test"});
  EXPECT_EQ(c.tls.cert, "");  // self-signed, generated by the server on first start
  EXPECT_EQ(c.tls.key, "");
  EXPECT_TRUE(c.aliases.empty());
  EXPECT_TRUE(c.relay_networks.empty());
}

// ---------------------------------------------------------------- units

struct SizeCase {
  std::string_view text;
  std::optional<uint64_t> bytes;
};

TEST(ConfigUnits, ParseSize) {
  constexpr uint64_t K = 1024, M = K * K, G = M * K;
  const SizeCase cases[] = {
      {"0", 0},           {"1024", 1024},      {"100B", 100},     {"100b", 100},   {"1K", K},
      {"1KB", K},         {"1kib", K},         {"512KB", 512 * K}, {"50MB", 50 * M}, {"50mb", 50 * M},
      {"2MiB", 2 * M},    {"3M", 3 * M},       {"1GB", G},        {"1G", G},       {"4GiB", 4 * G},
      {"50 MB", 50 * M},  {"18446744073709551615", UINT64_MAX},
      {"", {}},           {"MB", {}},          {"-1", {}},        {"+1", {}},      {"1.5GB", {}},
      {"1TB", {}},        {"1XB", {}},         {"50 ", {}},       {" 50", {}},     {"1e3", {}},
      {"18446744073709551616", {}},            {"17179869184GB", {}},             {"1 KB B", {}},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_size(c.text), c.bytes) << "\"" << c.text << "\"";
}

struct DurationCase {
  std::string_view text;
  std::optional<Duration> value;
};

TEST(ConfigUnits, ParseDuration) {
  const DurationCase cases[] = {
      {"30", Duration(30s)}, {"30s", Duration(30s)}, {"5m", Duration(5min)},  {"4h", Duration(4h)},
      {"5d", Duration(120h)}, {"250ms", Duration(250ms)}, {"0s", Duration(0)}, {"10 m", Duration(10min)},
      {"", {}}, {"s", {}}, {"-5s", {}}, {"1m30s", {}}, {"1.5h", {}}, {"5M", {}}, {"5S", {}}, {"5w", {}},
      {"5 minutes", {}}, {"9223372036854775807ms", Duration(INT64_MAX)}, {"9223372036854775808ms", {}},
      {"106751991167301d", {}},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_duration(c.text), c.value) << "\"" << c.text << "\"";
}

}  // namespace
}  // namespace volley::config

namespace volley::config {
namespace {

TEST(ConfigDelivery, SmarthostFormsTheEngineRoutesAreAccepted) {
  for (const char* v : {"relay.example.com", "relay.example.com:587", "[relay.example.com]:25", "127.0.0.4:2525",
                        "[127.0.0.4]:2525", "[::1]:25"}) {
    auto c = load_string(std::string("[[listener]]\naddress = \"127.0.0.1:2525\"\n[delivery]\nsmarthost = \"") + v +
                         "\"\n");
    ASSERT_TRUE(c.ok()) << v << ": " << c.error().message;
    EXPECT_EQ(c->delivery.smarthost, v);
  }
}

TEST(ConfigDelivery, NewDeliveryKeys) {
  auto c = load_string(
      "[[listener]]\naddress = \"127.0.0.1:2525\"\n[delivery]\nenabled = false\nconnect_timeout = \"2s\"\n"
      "command_timeout = \"5s\"\ndata_timeout = \"10s\"\ndns_timeout = \"300ms\"\nmax_active_messages = 10\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->delivery.enabled);
  EXPECT_EQ(c->delivery.connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c->delivery.command_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c->delivery.data_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c->delivery.dns_timeout, std::chrono::milliseconds(300));
  EXPECT_EQ(c->delivery.max_active_messages, 10u);
  auto bad = load_string("[[listener]]\naddress = \"127.0.0.1:2525\"\n[delivery]\nmax_active_messages = 0\n");
  EXPECT_FALSE(bad.ok());
}

// Issue 9, point 2: the delivery stage's limits have keys and defaults.
TEST(ConfigDelivery, LimitKeys) {
  auto d = load_string("[[listener]]\naddress = \"127.0.0.1:2525\"\n");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->delivery.max_active_bytes, 64ull << 20);
  EXPECT_EQ(d->delivery.connection_idle_timeout, std::chrono::seconds(2));
  EXPECT_EQ(d->delivery.max_jobs_per_destination, 10000u);
  auto c = load_string(
      "[[listener]]\naddress = \"127.0.0.1:2525\"\n[delivery]\nmax_active_bytes = \"200MB\"\n"
      "connection_idle_timeout = \"0s\"\nmax_jobs_per_destination = 50\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->delivery.max_active_bytes, 200ull * 1024 * 1024);
  EXPECT_EQ(c->delivery.connection_idle_timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(c->delivery.max_jobs_per_destination, 50u);
  struct Bad {
    const char* line;
    const char* key;
  };
  for (const Bad& b : {Bad{"max_active_bytes = 0", "delivery.max_active_bytes"},
                       Bad{"max_active_bytes = \"lots\"", "delivery.max_active_bytes"},
                       Bad{"connection_idle_timeout = \"-1s\"", "delivery.connection_idle_timeout"},
                       Bad{"connection_idle_timeout = true", "delivery.connection_idle_timeout"},
                       Bad{"max_jobs_per_destination = 0", "delivery.max_jobs_per_destination"}}) {
    auto r = load_string(std::string("[[listener]]\naddress = \"127.0.0.1:2525\"\n[delivery]\n") + b.line + "\n");
    ASSERT_FALSE(r.ok()) << b.line;
    EXPECT_NE(r.error().message.find(b.key), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace volley::config
