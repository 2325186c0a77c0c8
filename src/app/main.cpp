// volley: the command line (SPEC section 7). Every subcommand takes --config;
// without it, ./volley.toml is used when present, else the built-in
// development default (SPEC section 1).
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "admin/apikey_command.hpp"
#include "admin/dkim_command.hpp"
#include "admin/doctor_command.hpp"
#include "admin/queue_command.hpp"
#include "admin/send_command.hpp"
#include "app/privileges.hpp"
#include "app/server.hpp"
#include "app/version.hpp"
#include "admin/user_command.hpp"
#include "config/config.hpp"

namespace {

using volley::config::Config;

// Resolves which configuration a subcommand uses; prints the reason and
// returns false when the file is bad.
bool load_config(const std::string& path, Config& out, const char* command) {
  std::string chosen = path;
  if (chosen.empty() && std::filesystem::exists("volley.toml")) chosen = "volley.toml";
  if (chosen.empty()) {
    out = volley::config::development_default();
    return true;
  }
  auto loaded = volley::config::load_file(chosen);
  if (!loaded) {
    std::cerr << "volley: " << command << ": " << loaded.error().message << "\n";
    return false;
  }
  out = std::move(loaded.value());
  return true;
}

void print_development_banner(const Config& cfg) {
  std::cerr << "volley: no config file; running the development instance (data in " << cfg.server.data_dir
            << ", local domain " << (cfg.local_domains.empty() ? "" : cfg.local_domains.front()) << ")\n";
  for (const auto& l : cfg.listeners) std::cerr << "volley:   " << l.name << " on " << l.address << "\n";
  std::cerr << "volley: add a mailbox user with: volley user add alice@"
            << (cfg.local_domains.empty() ? "localhost.test" : cfg.local_domains.front())
            << "   (password read from stdin, or prompted)\n";
}

// `volley user ...` (and `apikey ...`) run by root on a server with
// server.user: the store is the daemon's, so work on it as the daemon's user
// (files it creates stay usable by the daemon). Prints the reason and
// returns false on failure.
bool run_as_server_user(const Config& cfg, bool may_create_data_dir, const char* command = "user") {
  auto fail = [command](const std::string& reason) {
    std::cerr << "volley: " << command << ": " << reason << "\n";
    return false;
  };
  auto run_as = volley::app::resolve_run_as(cfg.server.user);
  if (!run_as) return fail(run_as.error().message);
  if (!run_as.value()) return true;
  const auto& to = *run_as.value();
  if (auto given = volley::app::hand_over_data_dir(cfg.server.data_dir, to, may_create_data_dir); !given)
    return fail(given.error().message);
  if (auto dropped = volley::app::drop_privileges(to); !dropped)
    return fail("cannot run as server.user " + to.name + ": " + dropped.error().message);
  return true;
}

// glibc malloc tuning (see main()). Allocations from kMmapThreshold up get
// their own mapping, returned to the system at free: message bodies loaded
// for delivery. Below it (the intake's 1 MB session pieces among them) the
// heap serves them as usual; measured with 1 MB instead, every piece was an
// mmap/munmap and 40 concurrent 19 MB transfers took 2-4x longer.
constexpr int kMmapThreshold = 4 << 20;
// Free memory kept at the top of the heap before it is returned. Setting the
// mmap threshold fixes this one too (at 128 KB unless set), and trimming and
// re-faulting the session pieces' memory cost as much as the mmaps.
constexpr int kTrimThreshold = 64 << 20;

}  // namespace

int main(int argc, char** argv) {
  // Everything Volley creates (data_dir, mail, queue, user store, keys, the
  // admin socket) is the owner's alone: 0700 directories, 0600 files, whatever
  // umask the caller had. Each creation also names its mode explicitly.
  ::umask(077);
  // Message bodies over a few MB are allocated and freed whole (a delivery
  // loads one, up to delivery.max_active_bytes in all). glibc's dynamic mmap
  // threshold would rise to their size after the first one is freed and then
  // serve them from the heap, whose pages stay resident: bench/memory, 40 x
  // 19 MB with local delivery, peaked at 191 MB with it and 112 MB without.
  ::mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  ::mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  CLI::App app{"Volley mail server"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("volley ") + volley::kVersion);

  std::string config_path;
  auto* serve = app.add_subcommand("serve", "Run the mail server");
  serve->add_option("--config,-c", config_path, "Configuration file (default ./volley.toml, else development default)");

  auto* check = app.add_subcommand("check-config", "Validate the configuration and exit");
  check->add_option("--config,-c", config_path, "Configuration file");

  auto* user = app.add_subcommand("user", "Manage mailbox users");
  user->require_subcommand(1);
  std::string address;
  volley::admin::UserQuotaOptions quota_opts;
  for (const char* action : {"add", "del", "passwd", "quota"}) {
    auto* sub = user->add_subcommand(action);
    sub->add_option("address", address, "user@domain")->required();
    sub->add_option("--config,-c", config_path, "Configuration file");
    if (std::string_view(action) == "add" || std::string_view(action) == "quota") {
      auto* q = sub->add_option("--quota", quota_opts.quota,
                                "Mailbox quota, e.g. 500MB (0 = the default, mailbox.quota)");
      if (std::string_view(action) == "quota") q->required();
    }
  }
  auto* list = user->add_subcommand("list", "List users with their usage and quota");
  list->add_option("filter", address, "Only this user@domain, or the users of this domain");
  list->add_option("--config,-c", config_path, "Configuration file");
  user->add_option("--config,-c", config_path, "Configuration file");

  // volley queue list|show|delete|retry|flush: talks to the running daemon.
  auto* queue = app.add_subcommand("queue", "Inspect and manage the queue of the running daemon");
  queue->require_subcommand(1);
  volley::admin::QueueCommand qcmd;
  auto* qlist = queue->add_subcommand("list", "List queued messages");
  qlist->add_option("--state", qcmd.state,
                    "Only messages in this state: queued (not tried yet, or being delivered) or deferred (waiting "
                    "for a retry)")
      ->check(CLI::IsMember({"queued", "deferred"}));
  qlist->add_option("--domain", qcmd.domain, "Only messages with a recipient at this domain");
  qlist->add_option("--limit", qcmd.limit, "At most this many messages");
  qlist->add_flag("--json", qcmd.json, "Print the JSON array (for scripts)");
  auto* qshow = queue->add_subcommand("show", "Show one message: envelope, recipients, metadata, headers");
  qshow->add_option("id", qcmd.id, "Queue id")->required();
  qshow->add_flag("--json", qcmd.json, "Print JSON");
  auto* qdelete = queue->add_subcommand("delete", "Remove one message from the queue");
  qdelete->add_option("id", qcmd.id, "Queue id")->required();
  // ID and --all are checked by run_queue_command, which says in one line
  // what is missing (CLI11 would print a usage hint on a second line).
  auto* qretry = queue->add_subcommand("retry", "Make deferred messages due now: one (ID) or every one (--all)");
  qretry->add_option("id", qcmd.id, "Queue id");
  qretry->add_flag("--all", qcmd.all, "Every deferred message");
  qretry->add_flag("--json", qcmd.json, "Print {\"count\":N}");
  auto* qflush = queue->add_subcommand(
      "flush", "Make every message with a recipient at DOMAIN (no DOMAIN: every message) due now");
  // Not ->required(): run_queue_command gives the one-line reason itself.
  qflush->add_option("domain", qcmd.domain, "Recipient domain, e.g. example.com (omit to flush the whole queue)");
  qflush->add_flag("--json", qcmd.json, "Print {\"count\":N}");
  for (auto* sub : {qlist, qshow, qdelete, qretry, qflush})
    sub->add_option("--config,-c", config_path, "Configuration file");
  queue->add_option("--config,-c", config_path, "Configuration file");

  // volley send: a message from a file or stdin, queued by the running daemon.
  auto* send = app.add_subcommand("send", "Queue a message through the running daemon (like sendmail)");
  volley::admin::SendOptions sopts;
  std::string send_subject;
  send->add_option("--from", sopts.from, "Envelope sender, and From: when the message has none")->required();
  // One address (list) per --to, so `--to a@x FILE` leaves FILE positional
  // (CLI11 lets a vector option swallow every following argument otherwise).
  send->add_option("--to", sopts.to, "Recipient (repeatable, or comma-separated)")
      ->required()
      ->allow_extra_args(false);
  auto* subject_opt = send->add_option("--subject", send_subject, "Subject: to add when the message has none");
  send->add_option("file", sopts.file, "The message (RFC 5322; default or '-': standard input)");
  send->add_option("--config,-c", config_path, "Configuration file");

  // volley dkim keygen: a signing key and the DNS record that publishes it.
  auto* dkim = app.add_subcommand("dkim", "DKIM signing keys");
  dkim->require_subcommand(1);
  volley::admin::DkimKeygenOptions kopts;
  auto* keygen = dkim->add_subcommand("keygen", "Write a new DKIM private key (0600) and print its DNS TXT record");
  keygen->add_option("--domain", kopts.domain, "Signing domain (d=)")->required();
  keygen->add_option("--selector", kopts.selector, "Selector (s=)")->required();
  keygen->add_option("--algorithm", kopts.algorithm, "rsa (default) or ed25519")
      ->check(CLI::IsMember({"rsa", "ed25519"}));
  keygen->add_option("--bits", kopts.bits, "RSA key size (default 2048, at least 2048)");
  keygen->add_option("--out", kopts.out, "Key file (default DATA_DIR/dkim/DOMAIN.SELECTOR.pem)");
  keygen->add_option("--config,-c", config_path, "Configuration file");
  dkim->add_option("--config,-c", config_path, "Configuration file");

  // volley doctor DOMAIN: what the big receivers will check (exit 0 / 1 / 2).
  volley::admin::DoctorOptions dopts;
  auto* doctor = app.add_subcommand(
      "doctor", "Check DOMAIN's SPF, DKIM, DMARC, reverse DNS, MX and MTA-STS against the bulk-sender rules of Gmail, "
                "Yahoo and Microsoft; exit 0 only when every check passes (1: some fail, 2: usage or config error)");
  doctor->add_option("domain", dopts.domain, "The sending domain (the From: domain), e.g. example.com")->required();
  doctor->add_flag("--json", dopts.json, "Print one JSON object (checks, rules, overall)");
  doctor->add_option("--address", dopts.addresses,
                     "A sending address to check (repeatable; default delivery.source_addresses, else the outbound "
                     "address)");
  doctor->add_option("--mta-sts-port", dopts.mta_sts_port, "Port of the MTA-STS policy server (default 443)");
  doctor->add_option("--config,-c", config_path, "Configuration file");

  // volley apikey create|list|revoke: HTTP API keys (data_dir/apikeys.db).
  auto* apikey = app.add_subcommand("apikey", "Manage HTTP API keys");
  apikey->require_subcommand(1);
  volley::admin::ApiKeyOptions akopts;
  auto* akcreate = apikey->add_subcommand("create", "Create a key and print it (shown only this once)");
  akcreate->add_option("--name", akopts.name, "Name of the key (1..64 letters, digits, '-', '_', '.')")->required();
  akcreate->add_option("--scope", akopts.scope, "send (default): send and look up mail; read: look up only; admin: everything");
  auto* aklist = apikey->add_subcommand("list", "List keys: name, scope, created, state (never the key)");
  auto* akrevoke = apikey->add_subcommand("revoke", "Revoke a key (a running server stops accepting it within seconds)");
  akrevoke->add_option("--name", akopts.name, "Name of the key")->required();
  for (auto* sub : {akcreate, aklist, akrevoke}) sub->add_option("--config,-c", config_path, "Configuration file");
  apikey->add_option("--config,-c", config_path, "Configuration file");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    // doctor's contract: 2 for bad usage (0 stays 0 for --help).
    return code != 0 && doctor->parsed() ? 2 : code;
  }

  Config cfg;
  if (*serve) {
    if (!load_config(config_path, cfg, "serve")) return 1;
    if (cfg.source_path.empty()) print_development_banner(cfg);
    return volley::app::run_server(std::move(cfg));
  }
  if (*check) {
    if (!load_config(config_path, cfg, "check-config")) return 1;
    std::cout << "volley: configuration OK ("
              << (cfg.source_path.empty() ? std::string("built-in development default") : cfg.source_path) << ", "
              << cfg.listeners.size() << " listeners, " << cfg.local_domains.size() << " local domains)\n";
    return 0;
  }
  if (*user) {
    if (!load_config(config_path, cfg, "user")) return 1;
    std::string action = user->get_subcommands().front()->get_name();
    if (!run_as_server_user(cfg, action == "add")) return 1;
    quota_opts.default_quota = cfg.mailbox.quota;
    return volley::admin::run_user_command(action, address, cfg.server.data_dir, cfg.local_domains, std::cin, std::cout, std::cerr,
                                         ::isatty(STDIN_FILENO) == 1, quota_opts);
  }
  if (*queue) {
    if (!load_config(config_path, cfg, "queue")) return 1;
    qcmd.action = queue->get_subcommands().front()->get_name();
    return volley::admin::run_queue_command(qcmd, cfg.server.data_dir, std::cout, std::cerr);
  }
  if (*send) {
    if (!load_config(config_path, cfg, "send")) return 1;
    if (subject_opt->count() > 0) sopts.subject = send_subject;
    return volley::admin::run_send_command(sopts, cfg.server.data_dir, cfg.limits.max_message_size, std::cin,
                                           ::isatty(STDIN_FILENO) == 1, std::cout, std::cerr);
  }
  if (*dkim) {
    if (!load_config(config_path, cfg, "dkim")) return 1;
    return volley::admin::run_dkim_keygen(kopts, cfg.server.data_dir, std::cout, std::cerr);
  }
  if (*apikey) {
    if (!load_config(config_path, cfg, "apikey")) return 1;
    akopts.action = apikey->get_subcommands().front()->get_name();
    if (!run_as_server_user(cfg, akopts.action == "create", "apikey")) return 1;
    return volley::admin::run_apikey_command(akopts, cfg.server.data_dir, std::cout, std::cerr);
  }
  if (*doctor) {
    if (!load_config(config_path, cfg, "doctor")) return 2;
    return volley::admin::run_doctor(dopts, cfg, std::cout, std::cerr);
  }
  return 1;
}
