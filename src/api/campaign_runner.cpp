#include "api/campaign_runner.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "platform/campaign_request.hpp"
#include "platform/delivery_events.hpp"
#include "platform/mime_builder.hpp"
#include "platform/unsubscribe_token.hpp"
#include "platform/return_path.hpp"
#include "queue/queue_id.hpp"
#include "util/json_text.hpp"
#include "util/log.hpp"
#include "util/memory.hpp"
#include "util/strings.hpp"

namespace volley::api {
namespace {

// What every message of one campaign shares while it is expanded, worked
// out once per campaign rather than per recipient.
struct Expansion {
  const platform::CampaignJob& job;
  const platform::CampaignRequest& request;
  std::string tags_json;
  std::string sender_domain;
  std::string received_detail;  // the `received` events' detail: from and subject as written
};

// List-Unsubscribe (RFC 2369) with the one-click https link (RFC 8058) and
// a mailto: fallback carrying the same token in its subject.
std::string list_unsubscribe(const std::string& base, const std::string& sender_domain, const std::string& token) {
  std::string v;
  if (!base.empty()) v = concat("<", base, "/unsubscribe/", token, ">, ");
  v += concat("<mailto:unsubscribe@", sender_domain, "?subject=unsubscribe%20", token, ">");
  return v;
}

platform::Event event_for(const Expansion& x, platform::EventType type, const std::string& id, const std::string& address,
                          int64_t now, std::string detail) {
  platform::Event e;
  e.at = now;
  e.type = type;
  e.message_id = id;
  e.recipient = address;
  e.campaign = x.job.id;
  e.detail = std::move(detail);
  // Redoing a batch (after a crash) reuses the message id: one event still.
  e.dedup = concat(platform::event_type_name(type), ":", id);
  return e;
}

}  // namespace

std::string unsubscribe_base_url(const config::Config& cfg) {
  std::string base = cfg.api.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!base.empty()) return base;
  for (const auto& l : cfg.listeners) {
    if (l.protocol != config::Protocol::Http) continue;
    const bool any = l.host == "0.0.0.0" || l.host == "::" || l.host.empty();
    std::string host = any ? cfg.server.hostname : l.host;
    if (host.find(':') != std::string::npos) host = concat("[", host, "]");
    return concat(l.tls == config::TlsMode::Implicit ? "https://" : "http://", host, ":", std::to_string(l.port));
  }
  return "";
}

CampaignRunner::CampaignRunner(ApiContext& ctx, Options options) : ctx_(ctx), options_(std::move(options)) {
  if (options_.batch == 0) options_.batch = 1;
}

CampaignRunner::~CampaignRunner() { stop(); }

void CampaignRunner::start() {
  thread_ = std::thread([this] { loop(); });
}

void CampaignRunner::wake() {
  {
    std::lock_guard lock(mu_);
    work_ = true;
  }
  cv_.notify_all();
}

void CampaignRunner::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CampaignRunner::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return work_ || stopping_; });
      if (stopping_) return;
      work_ = false;
    }
    run_pending();
  }
}

void CampaignRunner::run_pending() {
  auto jobs = ctx_.platform.campaigns().unfinished();
  if (!jobs) {
    log::error("campaign.list_failed").kv("error", jobs.error().message);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.retry_pause, [this] { return stopping_; });
    work_ = true;
    return;
  }
  for (const auto& job : *jobs)
    if (!expand(job)) return;
}

namespace {

// One recipient of a batch on its way to the queue.
struct BatchItem {
  size_t index = 0;
  std::string id;
  platform::HistoryMessage history;
  std::optional<platform::Event> suppressed;     // set: suppressed, nothing to send
  std::shared_ptr<queue::Message> message;       // rendered (send items)
  Result<void> rendered;
};

// The per-recipient message: unsubscribe token, merged MIME, envelope, DKIM
// and trace header. Pure but for CPU (GMime, HMAC, signing): run on several
// threads at once.
Result<void> render_item(ApiContext& ctx, const CampaignRunner::Options& options, const Expansion& x, BatchItem& item,
                         int64_t now) {
  platform::Platform& p = ctx.platform;
  const std::string& address = item.history.recipients.front().address;
  auto token = platform::make_unsubscribe_token(platform::secret_bytes(p), {address, x.sender_domain, x.job.id});
  if (!token) return token.error();
  const platform::HeaderList headers = {
      {"List-Unsubscribe", list_unsubscribe(options.unsubscribe_base, x.sender_domain, *token)},
      {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
      {"X-Volley-Campaign", x.job.id},
  };
  auto built = platform::render_campaign_message(x.request, item.index, headers, platform::make_stamp(ctx.clock));
  if (!built) return built.error();
  auto envelope = api_envelope(ctx, item.id, x.request.from.address, x.job.client_ip, x.job.key_name, now);
  if (!envelope) return envelope.error();
  auto msg = std::make_shared<queue::Message>();
  queue::Envelope& env = msg->envelope;
  env = std::move(*envelope);
  env.campaign = x.job.id;
  add_api_recipient(env, address);
  msg->content = std::move(built->bytes);
  env.eight_bit = has_8bit(msg->content);
  if (auto prepared = inbound::prepare_submission(ctx.intake, *msg, api_trace(x.job.client_ip, "campaign", x.job.id));
      !prepared)
    return prepared;
  item.message = std::move(msg);
  return {};
}

// Renders the send items of a batch on `threads` threads (this one included).
void render_items(ApiContext& ctx, const CampaignRunner::Options& options, const Expansion& x,
                  std::vector<BatchItem>& items, int64_t now) {
  std::vector<BatchItem*> work;
  for (auto& item : items)
    if (!item.suppressed) work.push_back(&item);
  const size_t threads = std::max<size_t>(1, std::min(options.render_threads, work.size()));
  std::atomic<size_t> next{0};
  auto drain = [&] {
    for (size_t i; (i = next.fetch_add(1)) < work.size();) work[i]->rendered = render_item(ctx, options, x, *work[i], now);
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(drain);
  drain();
  for (auto& h : helpers) h.join();
}

}  // namespace

// Renders, records and queues recipients [first, last) of a campaign.
// `recovering`: some of them may have been done before (see the header).
static Result<void> run_batch(ApiContext& ctx, const CampaignRunner::Options& options, const Expansion& x, size_t first,
                              size_t last, bool recovering) {
  platform::Platform& p = ctx.platform;
  const int64_t now = ctx.clock.unix_seconds();
  const std::string& from = x.request.from.address;
  // 1. Which recipients are sent, under which ids (the database: one thread).
  std::vector<BatchItem> items;
  items.reserve(last - first);
  for (size_t k = first; k < last; ++k) {
    const std::string& address = x.request.recipients[k].address.address;
    std::string id;
    if (recovering) {
      auto found = p.history().find_campaign_recipient(x.job.id, address);
      if (!found) return found.error();
      if (found->has_value()) {
        const platform::CampaignRecipientRecord& rec = **found;
        // Suppressed, or in the queue, or already tried: done before.
        if (rec.state != platform::kStateQueued || (options.in_queue && options.in_queue(rec.message_id))) continue;
        id = rec.message_id;  // recorded, never committed: send it now, under the id the record names
      }
    }
    if (id.empty()) id = queue::make_queue_id();

    BatchItem& item = items.emplace_back();
    item.index = k;
    item.id = id;
    platform::HistoryMessage& h = item.history;
    h.id = id;
    h.created_at = now;
    h.from = from;
    h.subject = x.request.subject_source;
    h.tags_json = x.tags_json;
    h.campaign = x.job.id;
    platform::HistoryRecipient& hr = h.recipients.emplace_back();
    hr.address = address;

    auto suppressed = p.suppressions().find(x.sender_domain, address);
    if (!suppressed) return suppressed.error();
    if (suppressed->has_value()) {
      hr.state = platform::kStateSuppressed;
      hr.last_reply = concat("suppressed: ", platform::reason_name((*suppressed)->reason));
      item.suppressed = event_for(x, platform::EventType::Suppressed, id, address, now,
                                  nlohmann::json{{"reason", platform::reason_name((*suppressed)->reason)}}.dump());
    }
  }
  // 2. The messages (CPU only: in parallel).
  render_items(ctx, options, x, items, now);
  // 3. History, events and the queue, in recipient order.
  std::vector<platform::HistoryMessage> records;
  std::vector<platform::Event> events;
  std::vector<std::shared_ptr<queue::Message>> messages;
  records.reserve(items.size());
  events.reserve(items.size());
  messages.reserve(items.size());
  for (auto& item : items) {
    if (item.suppressed) {
      events.push_back(std::move(*item.suppressed));
    } else {
      if (!item.rendered) return item.rendered;
      events.push_back(event_for(x, platform::EventType::Received, item.id, item.history.recipients.front().address, now,
                                 x.received_detail));
      messages.push_back(std::move(item.message));
    }
    records.push_back(std::move(item.history));
  }
  // The records first, so a delivery round that ends at once finds them
  // (and a crash before the commit leaves records that say "queued" for
  // messages the queue does not have: exactly what a redo looks for).
  if (auto r = p.db().atomically([&]() -> Result<void> {
        if (auto w = p.history().record_batch(records); !w) return w;
        return p.events().append(events);
      });
      !r)
    return r;
  return inbound::commit_submissions(ctx.intake, messages);
}

bool CampaignRunner::expand(const platform::CampaignJob& job) {
  auto snap = ctx_.intake.snapshot();
  platform::CampaignLimits limits;
  limits.max_message_bytes = snap->cfg.limits.max_message_size;
  // (The JSON tree of a 100,000-recipient request is tens of MB: it lives
  // only inside parse_campaign_request, while the compact form is made.)
  auto parsed = platform::parse_campaign_request(job.request, limits);
  release_free_memory();  // the JSON tree, freed inside
  if (!parsed || static_cast<int64_t>(parsed->recipients.size()) != job.total) {
    // Accepted once, refused now (a limit lowered since, or a damaged
    // record): nothing more can be sent; say so and close the campaign.
    log::error("campaign.abandoned")
        .kv("campaign", job.id)
        .kv("done", job.next_index)
        .kv("total", job.total)
        .kv("reason", parsed ? std::string("recipient count changed") : parsed.error().message);
    (void)ctx_.platform.campaigns().advance(job.id, job.next_index, true);
    return true;
  }
  const platform::CampaignRequest& request = parsed.value();
  const Expansion x{job, request, json_text(nlohmann::json(request.tags)), platform::domain_of(request.from.address),
                    json_text(nlohmann::json{{"from", request.from.address}, {"subject", request.subject_source}})};

  const auto started = std::chrono::steady_clock::now();
  size_t i = static_cast<size_t>(job.next_index);
  const size_t total = static_cast<size_t>(job.total);
  bool recovering = true;  // the first batch after a (re)start may have been done in part
  while (i < total) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return false;
    }
    const size_t j = std::min(i + options_.batch, total);
    Result<void> r = run_batch(ctx_, options_, x, i, j, recovering);
    if (r) r = ctx_.platform.campaigns().advance(job.id, static_cast<int64_t>(j), j == total);
    if (!r) {
      log::warn("campaign.batch_failed").kv("campaign", job.id).kv("first", static_cast<uint64_t>(i)).kv("error", r.error().message);
      recovering = true;
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.retry_pause, [this] { return stopping_; });
      continue;
    }
    i = j;
    recovering = false;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  log::info("campaign.expanded")
      .kv("campaign", job.id)
      .kv("recipients", job.total)
      .kv("resumed_at", job.next_index)
      .kv("ms", static_cast<int64_t>(ms.count()));
  return true;
}

}  // namespace volley::api
