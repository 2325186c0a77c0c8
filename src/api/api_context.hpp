// What the platform's HTTP API handlers (src/api) work with: the intake
// (configuration snapshot with the DKIM signer, the queue, the hand-off to
// delivery), the platform's stores, and a clock. The handlers run on the
// HTTP server's disk-work pool, never on an I/O thread, so they may block
// (SQLite, waiting for the queue's commit).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"
#include "inbound/intake.hpp"
#include "inbound/submission.hpp"
#include "platform/api_error.hpp"
#include "platform/platform.hpp"
#include "queue/envelope.hpp"
#include "util/clock.hpp"

namespace volley::api {

class CampaignRunner;

struct ApiContext {
  inbound::Intake& intake;
  platform::Platform& platform;
  const Clock& clock;
  // Expands accepted campaigns (campaign_runner.hpp); null: campaigns are
  // stored and expanded at the next start that has one.
  CampaignRunner* campaigns = nullptr;
};

// Any byte >= 0x80 (SMTPUTF8 / 8BITMIME for the envelope).
bool has_8bit(std::string_view s);

// A validation error as the one HTTP error shape.
http::Response error_response(const platform::ApiError& e);
// A non-negative decimal query value of at most `max_digits` digits (so it
// fits int64_t); nullopt for anything else.
std::optional<int64_t> parse_query_number(std::string_view text, size_t max_digits = 18);
// ?limit=N of a paged list: 1..max (larger is clamped), `fallback` when
// absent; nullopt when it is not such a number (answer 400). Six digits are
// plenty for a page size.
std::optional<size_t> page_limit(const http::Request& req, size_t fallback, size_t max);

// A storage failure: 503 (temporary; the client may retry), detail logged.
http::Response storage_failure(std::string_view what, const Error& e);

// Signs (DKIM, when the From domain has keys), prepends our Received
// header, commits durably to the queue and hands the message to delivery.
// Blocks until the commit is on disk: the same promise as SMTP's 250.
// `message` has the envelope filled (id, sender, recipients, ...) and the
// content without trace headers.
Result<void> queue_message(ApiContext& ctx, std::shared_ptr<queue::Message> message, const std::string& client_ip,
                           const std::string& key_name);

// The envelope of a message the API queues (POST /v1/messages, campaign
// messages): a VERP return path naming it (platform::return_path_for, so
// bounces and complaints come back to it), tracked, and who sent it; no
// recipients yet (add_api_recipient).
Result<queue::Envelope> api_envelope(ApiContext& ctx, std::string id, std::string_view from,
                                     const std::string& client_ip, const std::string& key_name, int64_t now);
void add_api_recipient(queue::Envelope& env, const std::string& address);

// Our Received header's origin for API mail: "from [IP]", "with HTTP API
// (<via> <name>)" (via "key" and the key's name, or "campaign" and its id;
// `name` is sanitized). Campaigns queue with inbound::prepare_submission /
// commit_submissions and this trace.
inbound::SubmissionTrace api_trace(const std::string& client_ip, std::string_view via, std::string_view name);

}  // namespace volley::api
