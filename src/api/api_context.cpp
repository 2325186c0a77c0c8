#include "api/api_context.hpp"

#include <algorithm>
#include <future>

#include "smtp/headers.hpp"
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

http::Response error_response(const platform::ApiError& e) { return http::Response::error(e.status, e.code, e.message); }

http::Response storage_failure(std::string_view what, const Error& e) {
  log::error("api.storage_failed").kv("what", what).kv("error", e.message);
  http::Response r = http::Response::error(503, "unavailable", "temporary storage problem, try again later");
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

Result<void> queue_message(ApiContext& ctx, std::shared_ptr<queue::Message> message, const std::string& client_ip,
                           const std::string& key_name) {
  auto snap = ctx.intake.snapshot();
  std::string signature;
  if (snap->signer) {
    const std::string_view content = message->content;
    // As the SMTP intake does it: the header block with its blank line, then the body.
    const size_t end = smtp::header_block_end(content);
    if (auto job = snap->signer->begin(content.substr(0, end))) {
      job->body(content.substr(end));
      auto fields = job->finish();
      // Never queue unsigned what the operator asked to have signed.
      if (!fields) return make_error(ErrorCode::Temporary, concat("DKIM signing failed: ", fields.error().message));
      signature = std::move(*fields);
    }
  }
  // Our trace header: who handed us the message, how, and its queue id.
  std::string head = concat("Received: from [", smtp::sanitize_for_header(client_ip), "]\r\n\tby ",
                            smtp::sanitize_for_header(snap->cfg.server.hostname), " (Volley) with HTTP API (key ",
                            smtp::sanitize_for_header(key_name), ")\r\n\tid ", message->envelope.id, "; ",
                            smtp::rfc5322_date(static_cast<std::time_t>(message->envelope.received_at)), "\r\n");
  head += signature;
  message->content.insert(0, head);

  std::promise<Result<void>> done;
  auto committed = done.get_future();
  ctx.intake.spool().commit(message, [&done](Result<void> r) { done.set_value(std::move(r)); });
  Result<void> r = committed.get();
  if (!r) return r;
  ctx.intake.queued(std::move(message));
  return {};
}

}  // namespace volley::api
