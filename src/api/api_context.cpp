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

Result<void> prepare_for_queue(ApiContext& ctx, queue::Message& message, const std::string& client_ip,
                               std::string_view via, std::string_view name) {
  auto snap = ctx.intake.snapshot();
  std::string signature;
  if (snap->signer) {
    const std::string_view content = message.content;
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
                            smtp::sanitize_for_header(snap->cfg.server.hostname), " (Volley) with HTTP API (", via,
                            " ", smtp::sanitize_for_header(name), ")\r\n\tid ", message.envelope.id, "; ",
                            smtp::rfc5322_date(static_cast<std::time_t>(message.envelope.received_at)), "\r\n");
  head += signature;
  message.content.insert(0, head);
  return {};
}

Result<void> queue_message(ApiContext& ctx, std::shared_ptr<queue::Message> message, const std::string& client_ip,
                           const std::string& key_name) {
  if (auto r = prepare_for_queue(ctx, *message, client_ip, "key", key_name); !r) return r;
  std::vector<std::shared_ptr<queue::Message>> one{std::move(message)};
  return commit_batch(ctx, one);
}

Result<void> commit_batch(ApiContext& ctx, const std::vector<std::shared_ptr<queue::Message>>& messages) {
  // Every commit is handed to the spool before waiting for any: they share
  // the spool's group commits instead of paying one fsync each.
  std::vector<std::promise<Result<void>>> done(messages.size());
  std::vector<std::future<Result<void>>> committed;
  committed.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    committed.push_back(done[i].get_future());
    ctx.intake.spool().commit(messages[i], [&done, i](Result<void> r) { done[i].set_value(std::move(r)); });
  }
  Result<void> first_failure;
  for (size_t i = 0; i < messages.size(); ++i) {
    Result<void> r = committed[i].get();
    if (r) ctx.intake.queued(messages[i]);
    else if (first_failure) first_failure = std::move(r);
  }
  return first_failure;
}

}  // namespace volley::api
