// POST /v1/messages and GET /v1/messages/{id}.
#include <nlohmann/json.hpp>

#include "api/api_routes.hpp"
#include "platform/message_request.hpp"
#include "platform/mime_builder.hpp"
#include "queue/queue_id.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace volley::api {
namespace {

// What the history and the events say about a new message, written before
// the queue commit (so a delivery round that ends at once finds the record
// to update) and taken back if the commit fails.
Result<void> record_accepted(ApiContext& ctx, const platform::HistoryMessage& h) {
  std::vector<platform::Event> events;
  const std::string detail = json_text(nlohmann::json{{"from", h.from}, {"subject", h.subject}});
  for (const auto& r : h.recipients) {
    platform::Event e;
    e.at = h.created_at;
    e.type = r.state == platform::kStateSuppressed ? platform::EventType::Suppressed : platform::EventType::Received;
    e.message_id = h.id;
    e.recipient = r.address;
    e.campaign = h.campaign;
    e.detail = detail;
    events.push_back(std::move(e));
  }
  // One transaction for both, shared with the requests arriving together
  // (one commit per burst, not per request).
  return ctx.platform.db().grouped([&]() -> Result<void> {
    if (auto r = ctx.platform.history().record(h); !r) return r;
    return ctx.platform.events().append(events);
  });
}

http::Response post_message(ApiContext& ctx, const http::Request& req, const http::Caller& caller) {
  auto snap = ctx.intake.snapshot();
  platform::MessageLimits limits;
  limits.max_recipients = snap->cfg.limits.max_recipients;
  limits.max_message_bytes = snap->cfg.limits.max_message_size;
  auto parsed = platform::parse_message_request(req.body, limits);
  if (!parsed) return error_response(parsed.error());
  const platform::MessageRequest& m = parsed.value();
  const std::string& sender = m.from.address;
  const std::string sender_domain = platform::domain_of(sender);

  auto built = platform::build_message(m, {}, platform::make_stamp(ctx.clock));
  if (!built) return http::Response::error(422, "invalid_message", built.error().message);

  auto msg = std::make_shared<queue::Message>();
  // VERP: bounces and complaints come back to an address that names this
  // message (the history keeps the From address for GET /v1/messages).
  auto envelope = api_envelope(ctx, queue::make_queue_id(), sender, req.peer.ip, caller.key_name,
                               ctx.clock.unix_seconds());
  if (!envelope) return http::Response::error(422, "invalid_message", envelope.error().message);
  msg->envelope = std::move(*envelope);
  queue::Envelope& env = msg->envelope;

  platform::HistoryMessage history;
  history.id = env.id;
  history.created_at = env.received_at;
  history.from = sender;
  history.subject = m.subject;
  history.tags_json = json_text(nlohmann::json(m.tags));
  nlohmann::json recipients = nlohmann::json::array();
  for (const auto& address : built->envelope_recipients) {
    auto suppressed = ctx.platform.suppressions().find(sender_domain, address);
    if (!suppressed) return storage_failure("suppression lookup", suppressed.error());
    platform::HistoryRecipient h;
    h.address = address;
    if (suppressed->has_value()) {
      h.state = platform::kStateSuppressed;
      h.last_reply = concat("suppressed: ", platform::reason_name((*suppressed)->reason));
    } else {
      add_api_recipient(env, address);
    }
    recipients.push_back({{"address", address}, {"status", h.state == platform::kStateSuppressed ? "suppressed" : "queued"}});
    history.recipients.push_back(std::move(h));
  }
  msg->content = std::move(built->bytes);
  env.eight_bit = has_8bit(msg->content);

  if (auto r = record_accepted(ctx, history); !r) return storage_failure("message history", r.error());
  if (!env.recipients.empty()) {
    if (auto r = queue_message(ctx, msg, req.peer.ip, caller.key_name); !r) {
      // Not accepted: the client gets no id, so the record of it goes too.
      (void)ctx.platform.history().forget(history.id);
      (void)ctx.platform.events().forget_message(history.id);
      return storage_failure("queue commit", r.error());
    }
  }
  log::info("api.message")
      .kv("id", history.id)
      .kv("key", caller.key_name)
      .kv("from", sender)
      .kv("rcpts", static_cast<uint64_t>(history.recipients.size()))
      .kv("queued", static_cast<uint64_t>(env.recipients.size()))
      .kv("message_id", built->message_id);
  return http::Response::json(202, {{"id", history.id}, {"message_id", built->message_id}, {"recipients", recipients}});
}

http::Response get_message(ApiContext& ctx, const http::PathParams& params) {
  const std::string& id = params.at(0).second;
  auto found = ctx.platform.history().find(id);
  if (!found) return storage_failure("message history", found.error());
  if (!found->has_value()) return http::Response::error(404, "not_found", concat("no message ", quoted(id, 64)));
  const platform::HistoryMessage& m = **found;
  nlohmann::json recipients = nlohmann::json::array();
  for (const auto& r : m.recipients)
    recipients.push_back({{"address", r.address}, {"state", r.state}, {"attempts", r.attempts}, {"last_reply", r.last_reply}});
  nlohmann::json tags = nlohmann::json::parse(m.tags_json, nullptr, false);
  if (tags.is_discarded()) tags = nlohmann::json::array();
  nlohmann::json body = {{"id", m.id},   {"created_at", m.created_at}, {"from", m.from},
                         {"subject", m.subject}, {"tags", tags}, {"recipients", recipients}};
  if (!m.campaign.empty()) body["campaign"] = m.campaign;
  return http::Response::json(200, body);
}

}  // namespace

void add_message_routes(http::Router& router, ApiContext& ctx) {
  router.add("POST", "/v1/messages", http::ScopeSet{http::Scope::Send},
             [&ctx](const http::Request& req, const http::Caller& caller, const http::PathParams&) {
               return post_message(ctx, req, caller);
             });
  router.add("GET", "/v1/messages/{id}", http::ScopeSet{http::Scope::Send, http::Scope::Read},
             [&ctx](const http::Request&, const http::Caller&, const http::PathParams& params) {
               return get_message(ctx, params);
             });
}

}  // namespace volley::api
