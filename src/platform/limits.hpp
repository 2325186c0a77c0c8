// Every fixed limit of the sending platform's request parsers, builders and
// report parsers, with the reason for its value. Limits an operator sets
// (limits.max_recipients, limits.max_message_size) come in as parameters.
#pragma once

#include <cstddef>

namespace volley::platform {

// ---- POST /v1/messages and /v1/campaigns bodies
// JSON nesting: our bodies nest three levels (attachments[] of objects); 32
// leaves room for clients' habits while a "[[[[..." bomb cannot exhaust the
// recursive JSON parser's stack.
inline constexpr size_t kMaxJsonDepth = 32;
// Subject: RFC 5322's 998-octet line; GMime folds and encodes it.
inline constexpr size_t kMaxSubjectBytes = 998;
// Display names: generous for real names and company names, short enough to
// stay on a folded header line or two.
inline constexpr size_t kMaxDisplayNameBytes = 256;
// Caller headers: enough for In-Reply-To/References/X-* sets of real
// applications; each value fits an unfolded header line.
inline constexpr size_t kMaxCustomHeaders = 50;
inline constexpr size_t kMaxHeaderValueBytes = 998;  // "Name: value" together, RFC 5322 2.1.1
inline constexpr size_t kMaxHeaderNameBytes = 76;  // name + ": " within a 78-column line (RFC 5322 2.1.1)
// Attachments: a filename is a file name on the recipient's disk (255 on
// common file systems); 100 parts is more than any real mail carries.
inline constexpr size_t kMaxAttachments = 100;
inline constexpr size_t kMaxFilenameBytes = 255;
inline constexpr size_t kMaxContentTypeBytes = 127;  // RFC 6838 4.2: type and subtype names are <= 127 chars
// Tags and metadata are stored with every message and event and are
// searched: a handful of short labels, a small string map.
inline constexpr size_t kMaxTags = 10;
inline constexpr size_t kMaxTagBytes = 128;
inline constexpr size_t kMaxMetadataEntries = 20;
inline constexpr size_t kMaxMetadataKeyBytes = 64;
inline constexpr size_t kMaxMetadataValueBytes = 512;
inline constexpr size_t kMaxMetadataBytes = 4096;  // all keys and values together

// ---- merge templates ({{name}})
// A campaign template is an HTML mail body: 1 MiB is far beyond real ones
// (Gmail clips bodies at 102 KB) while bounding compile work and memory.
inline constexpr size_t kMaxTemplateBytes = 1024 * 1024;
// Fields per template: a rendered message costs O(fields).
inline constexpr size_t kMaxTemplateFields = 1000;
inline constexpr size_t kMaxVariableNameBytes = 64;
// One rendered template: the message size limit applies later; this stops a
// 1 MiB template x 1000 fields x large values from building gigabytes first.
inline constexpr size_t kMaxRenderedBytes = 16 * 1024 * 1024;

// ---- POST /v1/campaigns
// At least 100,000 recipients per request (the brief); recipients are kept
// compactly (address and the values of used variables only).
inline constexpr size_t kMaxCampaignRecipients = 100'000;
// Per recipient: how many vars and how many bytes of values, so 100,000
// recipients cannot carry gigabytes of variables (100,000 x 8 KiB = 800 MB
// is the worst case the HTTP body limit must be set below anyway).
inline constexpr size_t kMaxVarsPerRecipient = 100;
inline constexpr size_t kMaxVarsBytesPerRecipient = 8 * 1024;

// ---- reports (ARF, DSN) received by mail
// A report's useful parts are small; a DSN may return the whole original
// message, whose headers are all we read.
inline constexpr size_t kMaxReportBytes = 10 * 1024 * 1024;
// Containers (multipart/*, message/*) in a report: ours have 3-4; the bound
// also bounds how deep GMime's recursive parser can go.
inline constexpr size_t kMaxReportContainers = 32;
inline constexpr size_t kMaxReportParts = 64;
// Per-recipient blocks in a DSN: one message to many recipients of one
// domain yields one DSN listing them; more than this is not a real report.
inline constexpr size_t kMaxDsnRecipients = 1000;
// One field value kept from a report (Diagnostic-Code can carry a long reply).
inline constexpr size_t kMaxReportFieldBytes = 2048;

// ---- bounce rules file (api.bounce_rules)
inline constexpr size_t kMaxBounceRulesFileBytes = 1024 * 1024;  // a rule table, not a data set
inline constexpr size_t kMaxBounceRules = 10'000;                 // each reply is checked against every rule
inline constexpr size_t kMaxBounceRuleTextBytes = 256;            // a substring of a one-line SMTP reply

}  // namespace volley::platform
