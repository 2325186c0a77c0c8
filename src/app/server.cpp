#include "app/server.hpp"

#include <signal.h>
#include <sys/stat.h>

#include "net/asio_compat.hpp"
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <algorithm>
#include <thread>

#include "admin/admin_server.hpp"
#include "admin/local_submission.hpp"
#include "api/api_routes.hpp"
#include "app/privileges.hpp"
#include "inbound/smtp_connection.hpp"
#include "net/connection_runner.hpp"
#include "app/runtime.hpp"
#include "net/self_signed.hpp"
#include "net/tls_context.hpp"
#include "auth/api_key_directory.hpp"
#include "http/http_connection.hpp"
#include "http/routes.hpp"
#include "pop3/pop3_connection.hpp"
#include "platform/platform.hpp"
#include "api/campaign_runner.hpp"
#include "platform/report_target.hpp"
#include "platform/return_path.hpp"
#include "pop3/store_maildrop.hpp"
#include "queue/log_spool.hpp"
#include "util/log.hpp"

namespace volley::app {
namespace {

bool needs_tls(const config::Config& cfg) {
  for (const auto& l : cfg.listeners)
    if (l.tls != config::TlsMode::None) return true;
  return false;
}

void apply_log_settings(const config::Config& cfg) {
  log::set_format(cfg.log.format == config::LogFormat::Json ? log::Format::Json : log::Format::KeyValue);
  const std::string& lv = cfg.log.level;
  log::set_level(lv == "debug" ? log::Level::Debug : lv == "warn" ? log::Level::Warn
                 : lv == "error" ? log::Level::Error : log::Level::Info);
}

// Builds a snapshot: the TLS context (configured or self-signed files), the
// recipient directory, the authenticator over the in-memory users, and the
// DKIM signer (keys in `dkim_keys`, read at start, are reused).
Result<std::shared_ptr<const Snapshot>> build_snapshot(config::Config cfg, Runtime& rt,
                                                       const std::vector<inbound::DkimSigningEntry>& dkim_keys,
                                                       inbound::SenderCheckThread& checks_thread,
                                                       std::string_view platform_secret) {
  auto snap = std::make_shared<Snapshot>();
  auto checks = inbound::SenderAuthChecks::create(cfg, checks_thread);
  if (!checks) return checks.error();
  snap->checks = std::move(checks.value());
  if (!cfg.dkim.empty()) {
    auto keys = inbound::load_dkim_keys(cfg.dkim, dkim_keys);
    if (!keys) return keys.error();
    snap->signer = std::make_unique<inbound::DkimSigning>(std::move(keys.value()));
  }
  if (needs_tls(cfg)) {
    std::string cert = cfg.tls.cert, key = cfg.tls.key;
    if (cert.empty()) {
      auto paths = net::ensure_self_signed(cfg.server.data_dir, cfg.server.hostname);
      if (!paths) return paths.error();
      if (paths->generated) log::info("tls.self_signed_created").kv("cert", paths->cert).kv("key", paths->key);
      cert = paths->cert;
      key = paths->key;
    }
    auto ctx = net::make_server_tls_context(cert, key, cfg.tls.min_version);
    if (!ctx) return ctx.error();
    snap->tls = std::move(ctx.value());
  }
  snap->cfg = std::move(cfg);
  snap->directory =
      std::make_unique<inbound::RecipientDirectory>(snap->cfg, rt.users(), &rt.mailbox_quota(), platform_secret);
  snap->authenticator = std::make_unique<inbound::Authenticator>(rt.users(), rt.auth_throttle(), snap->cfg.local_domains,
                                                               &rt.login_cache());
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

bool has_http_listener(const config::Config& cfg) {
  for (const auto& l : cfg.listeners)
    if (l.protocol == config::Protocol::Http) return true;
  return false;
}

// The HTTP API: routes, API keys (an in-memory snapshot of apikeys.db,
// refreshed in the background), per-key rate limits and the per-address
// failure budget shared with SMTP AUTH and POP3.
// API handlers mostly wait (SQLite, the queue's group commit): with 32 of
// them, 32 requests share each fsync instead of 4 (bench/api: the spill
// pool's 4 threads held the API to ~320 messages/s at ~1 ms CPU each).
constexpr size_t kApiWorkerThreads = 32;

std::shared_ptr<const http::Api> build_api(Runtime& rt, std::shared_ptr<auth::ApiKeyDirectory> keys,
                                           api::ApiContext& context) {
  auto router = std::make_shared<http::Router>();
  http::add_builtin_routes(*router, keys);
  api::add_platform_routes(*router, context);
  auto api = std::make_shared<http::Api>();
  api->router = std::move(router);
  api->keys = http::make_key_check(std::move(keys));
  api->limiter = std::make_shared<http::RateLimiter>();
  api->throttle = &rt.auth_throttle();
  api->workers = std::make_shared<asio::thread_pool>(kApiWorkerThreads);
  return api;
}

// The bounce classification table: the built-in rules, after the
// operator's api.bounce_rules file when there is one.
Result<std::shared_ptr<const platform::BounceClassifier>> load_classifier(const config::Config& cfg) {
  if (cfg.api.bounce_rules.empty()) return std::make_shared<const platform::BounceClassifier>();
  auto rules = platform::load_bounce_rules(cfg.api.bounce_rules);
  if (!rules) return rules.error();
  log::info("platform.bounce_rules").kv("file", cfg.api.bounce_rules).kv("rules", static_cast<uint64_t>(rules->size()));
  return std::make_shared<const platform::BounceClassifier>(std::move(*rules));
}

const char* role_name(config::SmtpRole r) { return r == config::SmtpRole::Submission ? "submission" : "mx"; }
const char* tls_name(config::TlsMode t) {
  switch (t) {
    case config::TlsMode::None: return "none";
    case config::TlsMode::StartTls: return "starttls";
    case config::TlsMode::Implicit: return "implicit";
  }
  return "none";
}

class Server {
 public:
  explicit Server(config::Config cfg) : cfg_(std::move(cfg)), contexts_(thread_count(cfg_)) {}
  int run();

 private:
  static unsigned thread_count(const config::Config& c) {
    if (c.server.threads > 0) return c.server.threads;
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;
  }
  Result<void> claim_data_dir_and_listeners();
  void reload();
  void begin_shutdown();
  asio::awaitable<void> wait_for_drain();
  asio::awaitable<void> trim_platform_hourly();

  config::Config cfg_;
  net::IoContexts contexts_;
  // Inbound sender checks' DNS: before rt_, whose snapshots use it.
  inbound::SenderCheckThread checks_thread_;
  std::shared_ptr<Runtime> rt_;
  // The sending platform's state: before engine_, which reports rounds to it.
  std::unique_ptr<platform::Platform> platform_;
  // Where mail to the platform's report addresses goes; before engine_, which delivers to it.
  std::unique_ptr<platform::ReportTarget> report_target_;
  // What the API handlers use; lives as long as the routes that point to it.
  std::unique_ptr<api::ApiContext> api_context_;
  std::unique_ptr<delivery::Engine> engine_;
  // Expands accepted campaigns into the queue; after engine_ (it hands
  // messages to delivery), stopped before it.
  std::unique_ptr<api::CampaignRunner> campaigns_;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
  // Bound before the switch to server.user; accepting once the rest is up.
  std::vector<std::pair<const config::Listener*, std::unique_ptr<asio::ip::tcp::acceptor>>> bound_;
  // `volley send`'s way into the intake; before admin_, which uses it.
  std::unique_ptr<admin::LocalSubmission> local_submission_;
  // Admin socket; declared after rt_ so it goes first (it uses the queue).
  std::unique_ptr<admin::AdminServer> admin_;
  // API keys for http listeners (null without one); refreshed in the background.
  std::shared_ptr<auth::ApiKeyDirectory> api_keys_;
  // [[dkim]] keys read before the switch to server.user (they may be
  // readable by root only, like Postfix's and OpenDKIM's keys).
  std::vector<inbound::DkimSigningEntry> dkim_keys_;
  bool shutting_down_ = false;
};

// server.user: as root, give data_dir to the user, bind the listeners (the
// one thing root is needed for), then drop to the user before anything in
// data_dir is opened, so all the daemon creates is the user's.
Result<void> Server::claim_data_dir_and_listeners() {
  auto run_as = resolve_run_as(cfg_.server.user);
  if (!run_as) return run_as.error();
  if (run_as.value()) {
    auto given = hand_over_data_dir(cfg_.server.data_dir, *run_as.value(), true);
    if (!given) return given.error();
    if (given.value() > 0)
      log::info("server.data_dir_owner_changed").kv("data_dir", cfg_.server.data_dir).kv("user", run_as.value()->name)
          .kv("entries", given.value());
  } else if (::mkdir(cfg_.server.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return make_error("cannot create data_dir " + cfg_.server.data_dir + ": " + std::strerror(errno));
  }
  for (const auto& l : cfg_.listeners) {
    if (l.protocol == config::Protocol::Imap) {
      log::warn("listener.skipped").kv("listener", l.name).kv("reason", "protocol not available in this version");
      continue;
    }
    auto acc = net::open_acceptor(contexts_.at(0), inbound::listen_spec(l, cfg_.limits));
    if (!acc) return acc.error();
    bound_.emplace_back(&l, std::move(acc.value()));
  }
  // A key that cannot be read is an error at start, naming the file.
  auto keys = inbound::load_dkim_keys(cfg_.dkim);
  if (!keys) return keys.error();
  dkim_keys_ = std::move(keys.value());
  if (const auto& to = run_as.value()) {
    if (auto dropped = drop_privileges(*to); !dropped)
      return make_error("cannot run as server.user " + to->name + ": " + dropped.error().message);
    log::info("server.privileges_dropped").kv("user", to->name).kv("uid", uint64_t{to->uid}).kv("gid", uint64_t{to->gid});
  }
  return {};
}

int Server::run() {
  if (auto ready = claim_data_dir_and_listeners(); !ready) {
    log::error("server.start_failed").kv("reason", ready.error().message);
    return 1;
  }
  // Users are served from memory; a store unreadable now only means
  // temporary errors (451/454) until the refresher can read it.
  auto users = std::make_unique<auth::UserDirectory>(auth::open_user_source(auth::user_db_path(cfg_.server.data_dir)));
  (void)users->refresh(true);  // a failure is logged; the refresher retries
  users->start();
  auto spool = queue::LogSpool::open(cfg_.server.data_dir);
  if (!spool) {
    log::error("server.start_failed").kv("reason", spool.error().message);
    return 1;
  }
  {
    const auto& rec = spool.value()->recovery();
    log::info("queue.opened")
        .kv("messages", static_cast<uint64_t>(rec.messages))
        .kv("segments", static_cast<uint64_t>(rec.segments))
        .kv("bytes", rec.bytes)
        .kv("truncated_bytes", rec.truncated_bytes)
        .kv("skipped_bytes", rec.skipped_bytes)
        .kv("seconds", std::to_string(rec.seconds));
  }
  rt_ = std::make_shared<Runtime>(std::move(spool.value()), std::move(users), cfg_);

  // Opened even without an http listener: messages the API queued earlier
  // still report their delivery rounds to it.
  auto platform = platform::Platform::open(cfg_.server.data_dir);
  if (!platform) {
    log::error("server.start_failed").kv("reason", platform.error().message);
    return 1;
  }
  platform_ = std::move(*platform);
  // The operator's bounce rules (tried before the built-in ones); a file
  // that does not load stops the start with its file:line, like a config error.
  if (auto rules = load_classifier(cfg_); !rules) {
    log::error("server.start_failed").kv("reason", rules.error().message);
    return 1;
  } else {
    platform_->delivery_events().set_classifier(std::move(*rules));
  }
  platform_->trim(system_clock().unix_seconds());
  asio::co_spawn(contexts_.at(0), trim_platform_hourly(), asio::detached);
  // The snapshot's recipient directory verifies VERP addresses with the
  // platform's secret, so it is built once the platform is open.
  auto snap = build_snapshot(cfg_, *rt_, dkim_keys_, checks_thread_, platform::secret_bytes(*platform_));
  if (!snap) {
    log::error("server.start_failed").kv("reason", snap.error().message);
    return 1;
  }
  rt_->set_snapshot(snap.value());
  // Reports that come back by mail (bounces, complaints, mailto
  // unsubscribes): what the current directory says is a report address
  // goes to the platform, never to a mailbox or a relay.
  report_target_ = std::make_unique<platform::ReportTarget>(*platform_, [rt = rt_](std::string_view address) {
    return rt->snapshot()->directory->report_kind(address);
  });
  api_context_ = std::make_unique<api::ApiContext>(api::ApiContext{*rt_, *platform_, system_clock()});

  engine_ = std::make_unique<delivery::Engine>(rt_->log_spool(), cfg_);
  engine_->set_mailbox_quota(&rt_->mailbox_quota());
  engine_->set_round_observer(&platform_->delivery_events());
  engine_->set_recipient_consumer(report_target_.get());
  if (auto started = engine_->start(); !started) {
    log::error("server.start_failed").kv("reason", "delivery: " + started.error().message);
    return 1;
  }
  rt_->set_engine(engine_.get());

  // Campaigns accepted before a stop or crash resume now (the queue is open
  // and replayed, so a batch in flight can be checked against it).
  {
    api::CampaignRunner::Options opts;
    opts.unsubscribe_base = api::unsubscribe_base_url(cfg_);
    // One renderer per core (at most 4): rendering is most of a campaign's CPU.
    opts.render_threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
    opts.in_queue = [&q = rt_->queue_admin()](const std::string& id) { return q.show(id).has_value(); };
    if (opts.unsubscribe_base.empty())
      log::warn("api.no_unsubscribe_url").kv("reason", "no api.public_url and no http listener: campaign mail carries only a mailto: unsubscribe");
    campaigns_ = std::make_unique<api::CampaignRunner>(*api_context_, std::move(opts));
    api_context_->campaigns = campaigns_.get();
    campaigns_->start();
  }

  // Admin socket for `volley queue ...`: needs the queue open; refuses to
  // start when another daemon already serves this data_dir.
  // `volley user ...` pokes the daemon after a change, so it is seen at once
  // (the refresher would see it within kUserRefreshInterval anyway).
  auto users_changed = [rt = rt_]() { return rt->users().refresh(); };
  // `volley send` enters through the same intake step as the HTTP API.
  local_submission_ = admin::make_intake_submission(*rt_, system_clock());
  auto admin_server = admin::AdminServer::start(contexts_.at(0), cfg_.server.data_dir, rt_->queue_admin(), users_changed,
                                                local_submission_.get());
  if (!admin_server) {
    log::error("server.start_failed").kv("reason", admin_server.error().message);
    return 1;
  }
  admin_ = std::move(admin_server.value());
  log::info("admin.started").kv("path", admin_->path());

  // POP3 serves the Maildirs local delivery writes (delivery's mail_root).
  // POP3 deletions give room back at once (a negative maildirsize delta).
  std::shared_ptr<pop3::MaildropOpener> maildrops =
      pop3::make_store_maildrop_opener(cfg_.server.data_dir + "/mail", "", &rt_->mailbox_quota());
  std::shared_ptr<const http::Api> api;
  if (has_http_listener(cfg_)) {
    api_keys_ = std::make_shared<auth::ApiKeyDirectory>(auth::api_key_db_path(cfg_.server.data_dir));
    (void)api_keys_->refresh(true);  // a failure is logged; requests get 503 until the refresher reads it
    api_keys_->start();
    api = build_api(*rt_, api_keys_, *api_context_);
  }
  auto draining = [table = rt_->connections()] { return table->draining(); };
  for (auto& [listener, acceptor] : bound_) {
    const config::Listener& l = *listener;
    log::info("listener.started")
        .kv("listener", l.name)
        .kv("address", l.address)
        .kv("protocol", config::protocol_name(l.protocol))
        .kv("role", l.protocol == config::Protocol::Smtp ? role_name(l.role) : "-")
        .kv("tls", tls_name(l.tls));
    std::shared_ptr<net::Service> service;
    if (l.protocol == config::Protocol::Pop3) {
      service = std::make_shared<pop3::Pop3Service>(l, rt_, maildrops);
    } else if (l.protocol == config::Protocol::Http) {
      service = std::make_shared<http::HttpService>(l, rt_, api, draining);
    } else {
      service = std::make_shared<inbound::SmtpService>(l, rt_);
    }
    asio::co_spawn(contexts_.at(0), net::accept_loop(*acceptor, std::move(service), rt_->connections(), contexts_),
                   asio::detached);
    acceptors_.push_back(std::move(acceptor));
  }

  asio::signal_set signals(contexts_.at(0), SIGTERM, SIGINT, SIGHUP);
  std::function<void(const asio::error_code&, int)> on_signal = [&](const asio::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      reload();
    } else {
      log::info("server.signal").kv("signal", sig == SIGTERM ? "TERM" : "INT");
      begin_shutdown();
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  log::info("server.started")
      .kv("hostname", cfg_.server.hostname)
      .kv("data_dir", cfg_.server.data_dir)
      .kv("threads", static_cast<uint64_t>(contexts_.size()))
      .kv("config", cfg_.source_path.empty() ? std::string("built-in development default") : cfg_.source_path);

  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts_.size(); ++i) {
    threads.emplace_back([this, i] {
      auto guard = asio::make_work_guard(contexts_.at(i));
      contexts_.at(i).run();
    });
  }
  {
    auto guard = asio::make_work_guard(contexts_.at(0));
    contexts_.at(0).run();
  }
  for (auto& t : threads) t.join();
  admin_.reset();  // finishes a queue call in flight, removes admin.sock
  campaigns_->stop();  // after the batch in hand; the rest resumes at the next start
  // Transactions in flight may finish; whatever does not is retried at the
  // next start (at-least-once).
  engine_->stop(std::min<std::chrono::milliseconds>(cfg_.server.shutdown_timeout, std::chrono::seconds(10)));
  rt_->set_engine(nullptr);
  rt_->spool().shutdown();
  log::info("server.stopped");
  return 0;
}

void Server::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  // Stop accepting, tell idle sessions to leave, let transactions finish.
  for (auto& a : acceptors_) {
    asio::error_code ec;
    a->close(ec);
  }
  if (admin_) admin_->close();
  rt_->connections()->begin_drain();
  log::info("server.draining").kv("connections", static_cast<uint64_t>(rt_->connections()->active()));
  asio::co_spawn(contexts_.at(0), wait_for_drain(), asio::detached);
}

asio::awaitable<void> Server::wait_for_drain() {
  auto deadline = std::chrono::steady_clock::now() + cfg_.server.shutdown_timeout;
  asio::steady_timer t(contexts_.at(0));
  while (rt_->connections()->active() > 0 && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(as_tuple(asio::use_awaitable));
  }
  if (rt_->connections()->active() > 0)
    log::warn("server.drain_timeout").kv("connections_dropped", static_cast<uint64_t>(rt_->connections()->active()));
  for (size_t i = 0; i < contexts_.size(); ++i) contexts_.at(i).stop();
}

// History, events and finished campaigns older than the retention period
// go, once an hour (and at start), on the blocking pool: SQLite never runs
// on an I/O thread.
asio::awaitable<void> Server::trim_platform_hourly() {
  asio::steady_timer t(contexts_.at(0));
  while (!shutting_down_) {
    t.expires_after(std::chrono::hours(1));
    auto [ec] = co_await t.async_wait(as_tuple(asio::use_awaitable));
    if (ec || shutting_down_) co_return;
    asio::post(rt_->blocking_pool(), [p = platform_.get()] { p->trim(system_clock().unix_seconds()); });
  }
}

void Server::reload() {
  config::Config next;
  if (cfg_.source_path.empty()) {
    next = cfg_;  // built-in default: nothing to re-read but the certificate
  } else {
    auto loaded = config::load_file(cfg_.source_path);
    if (!loaded) {
      log::error("config.reload_failed").kv("reason", loaded.error().message).kv("action", "keeping the running configuration");
      return;
    }
    next = std::move(loaded.value());
  }
  if (next.server.data_dir != cfg_.server.data_dir) {
    log::warn("config.reload_ignored").kv("key", "server.data_dir").kv("reason", "needs a restart");
    next.server.data_dir = cfg_.server.data_dir;
  }
  if (next.server.user != cfg_.server.user) {
    log::warn("config.reload_ignored").kv("key", "server.user").kv("reason", "needs a restart");
    next.server.user = cfg_.server.user;
  }
  bool listeners_changed = next.listeners.size() != cfg_.listeners.size();
  for (size_t i = 0; !listeners_changed && i < next.listeners.size(); ++i) {
    const auto &a = next.listeners[i], &b = cfg_.listeners[i];
    listeners_changed = a.address != b.address || a.role != b.role || a.tls != b.tls || a.protocol != b.protocol ||
                        a.require_tls_for_auth != b.require_tls_for_auth || a.name != b.name;
  }
  if (listeners_changed) {
    log::warn("config.reload_ignored").kv("key", "listener").kv("reason", "listener changes need a restart");
    next.listeners = cfg_.listeners;
  }
  rt_->users().request_refresh();  // SIGHUP reloads users too (SPEC 1)
  auto snap = build_snapshot(next, *rt_, dkim_keys_, checks_thread_, platform::secret_bytes(*platform_));
  if (!snap) {
    log::error("config.reload_failed").kv("reason", snap.error().message).kv("action", "keeping the running configuration");
    return;
  }
  // The bounce rules file is re-read too; one that no longer loads keeps
  // the running table (and says why), like a configuration that does not.
  if (auto rules = load_classifier(next); !rules)
    log::error("config.reload_failed").kv("reason", rules.error().message).kv("action", "keeping the running bounce rules");
  else
    platform_->delivery_events().set_classifier(std::move(*rules));
  apply_log_settings(next);
  rt_->set_snapshot(snap.value());
  engine_->reconfigure(next);
  cfg_ = std::move(next);
  log::info("config.reloaded").kv("local_domains", static_cast<uint64_t>(cfg_.local_domains.size())).kv("aliases", static_cast<uint64_t>(cfg_.aliases.size()));
}

}  // namespace

int run_server(config::Config cfg) {
  ::signal(SIGPIPE, SIG_IGN);
  apply_log_settings(cfg);
  Server server(std::move(cfg));
  return server.run();
}

}  // namespace volley::app
