// POST /v1/campaigns and GET /v1/campaigns/{id}.
//
// POST validates the whole request (every recipient's merge variables
// included: a missing one is a 422 naming it, before anything is stored),
// counts the recipients already suppressed, stores the request durably and
// answers 202; the campaign runner then streams the messages into the
// queue. The 202 makes the SMTP 250's promise for the campaign as a whole:
// it is on disk and will be sent even if the server is killed at once.
#include <nlohmann/json.hpp>

#include "api/api_routes.hpp"
#include "api/campaign_runner.hpp"
#include "platform/campaign_request.hpp"
#include "queue/queue_id.hpp"
#include "util/log.hpp"
#include "util/memory.hpp"
#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace volley::api {
namespace {

http::Response post_campaign(ApiContext& ctx, const http::Request& req, const http::Caller& caller) {
  auto snap = ctx.intake.snapshot();
  platform::CampaignLimits limits;
  limits.max_message_bytes = snap->cfg.limits.max_message_size;
  // The JSON tree (tens of MB for 100,000 recipients) is freed inside;
  // what stays is the compact form.
  auto parsed = platform::parse_campaign_request(req.body, limits);
  if (!parsed) return error_response(parsed.error());
  const platform::CampaignRequest& c = parsed.value();
  const std::string sender_domain = platform::domain_of(c.from.address);

  int64_t suppressed = 0;
  for (const auto& r : c.recipients) {
    auto found = ctx.platform.suppressions().find(sender_domain, r.address.address);
    if (!found) return storage_failure("suppression lookup", found.error());
    if (found->has_value()) ++suppressed;
  }

  platform::CampaignRecord record;
  record.id = queue::make_queue_id();
  record.created_at = ctx.clock.unix_seconds();
  record.from = c.from.address;
  record.subject = c.subject_source;
  record.tags_json = json_text(nlohmann::json(c.tags));
  platform::CampaignJob job;
  job.id = record.id;
  job.request = req.body;
  job.total = static_cast<int64_t>(c.recipients.size());
  job.client_ip = req.peer.ip;
  job.key_name = caller.key_name;
  if (auto r = ctx.platform.campaigns().create(record, job); !r) return storage_failure("campaign store", r.error());
  if (ctx.campaigns) ctx.campaigns->wake();

  log::info("api.campaign")
      .kv("campaign", record.id)
      .kv("key", caller.key_name)
      .kv("from", record.from)
      .kv("rcpts", job.total)
      .kv("suppressed", suppressed);
  return http::Response::json(202, {{"id", record.id}, {"accepted", job.total - suppressed}, {"suppressed", suppressed}});
}

http::Response post_campaign_and_release(ApiContext& ctx, const http::Request& req, const http::Caller& caller) {
  http::Response r = post_campaign(ctx, req, caller);
  release_free_memory();  // the request's JSON tree and compact form, gone now
  return r;
}

http::Response get_campaign(ApiContext& ctx, const http::PathParams& params) {
  const std::string& id = params.at(0).second;
  auto record = ctx.platform.history().find_campaign(id);
  if (!record) return storage_failure("campaign lookup", record.error());
  if (!record->has_value()) return http::Response::error(404, "not_found", concat("no campaign ", quoted(id, 64)));
  auto progress = ctx.platform.campaigns().progress(id);
  if (!progress) return storage_failure("campaign progress", progress.error());
  auto counts = ctx.platform.history().campaign_counts(id);
  if (!counts) return storage_failure("campaign counts", counts.error());
  auto unsubscribed = ctx.platform.events().count_for_campaign(id, platform::EventType::Unsubscribed);
  if (!unsubscribed) return storage_failure("campaign counts", unsubscribed.error());
  auto complained = ctx.platform.events().count_for_campaign(id, platform::EventType::Complained);
  if (!complained) return storage_failure("campaign counts", complained.error());

  // Recipients not yet expanded into the queue are accepted and waiting:
  // they count as queued until their messages exist.
  int64_t total = 0, pending = 0;
  bool expanding = false;
  if (progress->has_value()) {
    total = (*progress)->total;
    expanding = !(*progress)->done;
    const int64_t recorded = counts->queued + counts->deferred + counts->delivered + counts->bounced + counts->suppressed;
    if (expanding) pending = std::max<int64_t>(0, total - recorded);
  }
  const platform::CampaignRecord& c = **record;
  nlohmann::json tags = nlohmann::json::parse(c.tags_json, nullptr, false);
  if (tags.is_discarded()) tags = nlohmann::json::array();
  nlohmann::json out = {
      {"id", c.id},
      {"created_at", c.created_at},
      {"from", c.from},
      {"subject", c.subject},
      {"tags", tags},
      {"recipients", total},
      {"state", expanding ? "queueing" : "queued"},
      {"counts",
       {{"queued", counts->queued + pending},
        {"delivered", counts->delivered},
        {"deferred", counts->deferred},
        {"bounced", counts->bounced},
        {"suppressed", counts->suppressed},
        {"unsubscribed", *unsubscribed},
        {"complained", *complained}}},
  };
  return http::Response::json(200, out);
}

}  // namespace

void add_campaign_routes(http::Router& router, ApiContext& ctx) {
  router.add("POST", "/v1/campaigns", http::ScopeSet{http::Scope::Send},
             [&ctx](const http::Request& req, const http::Caller& caller, const http::PathParams&) {
               return post_campaign_and_release(ctx, req, caller);
             });
  router.add("GET", "/v1/campaigns/{id}", http::ScopeSet{http::Scope::Send, http::Scope::Read},
             [&ctx](const http::Request&, const http::Caller&, const http::PathParams& params) {
               return get_campaign(ctx, params);
             });
}

}  // namespace volley::api
