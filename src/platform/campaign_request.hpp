// POST /v1/campaigns: {from, subject, text, html, recipients[{address,
// vars{}}], tags[]} validated completely before anything is queued, then
// rendered one recipient at a time.
//
// Built for 100,000 recipients per request: subject, text and html are
// compiled once (MergeTemplate); a recipient keeps only its address and the
// values of the variables the templates use (unused vars are dropped), so
// the campaign costs about one short string per variable per recipient.
// render_campaign_message builds ONE recipient's message on demand, so the
// caller streams messages into the queue without holding them all.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/api_error.hpp"
#include "platform/limits.hpp"
#include "platform/merge_template.hpp"
#include "platform/mime_builder.hpp"
#include "platform/request_fields.hpp"

namespace volley::platform {

struct CampaignRecipient {
  NamedAddress address;
  std::vector<std::string> values;  // values[i] is the value of CampaignRequest::variables[i]
};

struct CampaignRequest {
  NamedAddress from;
  MergeTemplate subject, text, html;  // text or html may be empty templates, never both
  std::string subject_source;         // the subject as written, merge fields and all (history, campaign record)
  std::vector<std::string> variables;  // every variable the three templates use, sorted
  std::vector<CampaignRecipient> recipients;
  std::vector<std::string> tags;
};

struct CampaignLimits {
  size_t max_recipients = kMaxCampaignRecipients;     // per request
  uint64_t max_message_bytes = 50ull * 1024 * 1024;  // limits.max_message_size, per rendered message
};

// 400 for JSON syntax/types/unknown fields; 422 for: missing from, no
// recipients, a bad address (recipients[i].address), a template that does
// not compile (subject/text/html, with the byte offset), a variable used
// but missing from a recipient's vars ("recipients[7].vars: missing variable
// \"first_name\""), a var that is null/array/object, CR/LF/NUL reaching the
// subject, a duplicate recipient, over a limit (recipients, vars per
// recipient, message size).
ApiResult<CampaignRequest> parse_campaign_request(std::string_view body, const CampaignLimits& limits);
ApiResult<CampaignRequest> campaign_request_from_json(const nlohmann::json& body, const CampaignLimits& limits);

// Recipient `index`'s message: templates merged (html values HTML-escaped),
// To: that recipient only, `extra_headers` (List-Unsubscribe,
// List-Unsubscribe-Post, X-Volley-*) added. Fails (ErrorCode::Invalid) only
// on a bad index or bad extra headers: the request was validated whole.
Result<BuiltMessage> render_campaign_message(const CampaignRequest& campaign, size_t index,
                                             const HeaderList& extra_headers, const MessageStamp& stamp);

}  // namespace volley::platform
