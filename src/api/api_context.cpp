#include "api/api_context.hpp"

#include <algorithm>

#include "inbound/submission.hpp"
#include "platform/return_path.hpp"
#include "smtp/received.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::api {
std::optional<int64_t> parse_query_number(std::string_view text, size_t max_digits) {
  if (text.empty() || text.size() > max_digits || text.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<size_t> page_limit(const http::Request& req, size_t fallback, size_t max) {
  auto text = req.query_param("limit");
  if (!text) return fallback;
  auto v = parse_query_number(*text, 6);
  if (!v || *v == 0) return std::nullopt;
  return std::min(static_cast<size_t>(*v), max);
}

bool has_8bit(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

http::Response error_response(const platform::ApiError& e) { return http::Response::error(e.status, e.code, e.message); }

http::Response storage_failure(std::string_view what, const Error& e) {
  log::error("api.storage_failed").kv("what", what).kv("error", e.message);
  http::Response r = http::Response::error(503, "unavailable", "temporary storage problem, try again later");
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

Result<queue::Envelope> api_envelope(ApiContext& ctx, std::string id, std::string_view from,
                                     const std::string& client_ip, const std::string& key_name, int64_t now) {
  auto return_path = platform::return_path_for(ctx.platform, id, from);
  if (!return_path) return return_path.error();
  queue::Envelope env;
  env.id = std::move(id);
  env.sender = std::move(*return_path);
  env.tracked = true;
  env.received_at = now;
  env.client_ip = client_ip;
  env.auth_user = concat("apikey:", key_name);
  env.listener = "api";
  env.smtputf8 = has_8bit(env.sender);
  return env;
}

void add_api_recipient(queue::Envelope& env, const std::string& address) {
  queue::Recipient r;
  r.address = address;
  r.original = address;
  env.recipients.push_back(std::move(r));
  env.smtputf8 = env.smtputf8 || has_8bit(address);
}

inbound::SubmissionTrace api_trace(const std::string& client_ip, std::string_view via, std::string_view name) {
  inbound::SubmissionTrace trace;
  trace.from = concat("from [", smtp::sanitize_for_header(client_ip), "]");
  trace.with = concat("HTTP API (", via, " ", smtp::sanitize_for_header(name), ")");
  return trace;
}

Result<void> queue_message(ApiContext& ctx, std::shared_ptr<queue::Message> message, const std::string& client_ip,
                           const std::string& key_name) {
  return inbound::commit_submission(ctx.intake, std::move(message), api_trace(client_ip, "key", key_name));
}

}  // namespace volley::api
