// GET /v1/events?after=CURSOR&type=T&limit=N: the event log, oldest first,
// paged by the id cursor (`next` is the `after` of the next page; an empty
// page keeps it, so a poller just keeps asking with the last `next`).
#include <nlohmann/json.hpp>

#include "api/api_routes.hpp"

namespace volley::api {
namespace {

constexpr size_t kDefaultPage = 100;

http::Response list(ApiContext& ctx, const http::Request& req) {
  int64_t after = 0;
  if (auto text = req.query_param("after")) {
    auto v = parse_query_number(*text);
    if (!v) return http::Response::error(400, "invalid_parameter", "after: expected the `next` of a previous page");
    after = *v;
  }
  auto limit = page_limit(req, kDefaultPage, platform::kMaxEventPage);
  if (!limit) return http::Response::error(400, "invalid_parameter", "limit: expected a number from 1");
  platform::EventType type{};
  const platform::EventType* filter = nullptr;
  if (auto text = req.query_param("type")) {
    if (!platform::parse_event_type(*text, type))
      return http::Response::error(400, "invalid_parameter",
                                   "type: expected received, delivered, deferred, bounced, suppressed, unsubscribed "
                                   "or complained");
    filter = &type;
  }
  auto page = ctx.platform.events().list(after, filter, *limit);
  if (!page) return storage_failure("event list", page.error());
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : page->events) {
    nlohmann::json detail = nlohmann::json::parse(e.detail, nullptr, false);
    if (detail.is_discarded()) detail = nlohmann::json::object();
    nlohmann::json item = {{"id", std::to_string(e.id)}, {"at", e.at}, {"type", platform::event_type_name(e.type)},
                           {"message_id", e.message_id}, {"recipient", e.recipient}, {"detail", detail}};
    if (!e.campaign.empty()) item["campaign"] = e.campaign;
    events.push_back(std::move(item));
  }
  return http::Response::json(200, {{"events", events}, {"next", std::to_string(page->next)}});
}

}  // namespace

void add_event_routes(http::Router& router, ApiContext& ctx) {
  router.add("GET", "/v1/events", http::ScopeSet{http::Scope::Read},
             [&ctx](const http::Request& req, const http::Caller&, const http::PathParams&) { return list(ctx, req); });
}

}  // namespace volley::api
