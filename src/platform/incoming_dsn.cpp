// DSNs (and plain-text bounces) that come back to a VERP return path.
#include <cctype>

#include "delivery/outcome.hpp"
#include "platform/delivery_events.hpp"
#include "platform/incoming_reports.hpp"
#include "platform/reports.hpp"
#include "platform/return_path.hpp"
#include "platform/verp.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

// How much of a plain-text bounce's body is searched for the SMTP reply
// that explains it: the reason is at the top of every bounce we have seen.
constexpr size_t kPlainBounceScanBytes = 4096;
// A reply line kept from it: one SMTP reply line's worth.
constexpr size_t kPlainBounceReplyBytes = 512;

std::string_view local_part(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? address : address.substr(0, at);
}

bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// "550 5.1.1 ..." -> 550; 0 when the text does not start with a reply code.
int reply_code_of(std::string_view text) {
  if (text.size() < 3 || !digit(text[0]) || !digit(text[1]) || !digit(text[2])) return 0;
  if (text.size() > 3 && text[3] != ' ' && text[3] != '-') return 0;
  return (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
}

// One DSN recipient block as the outcome a delivery attempt would have had:
// the remote reply when the DSN quotes one (Diagnostic-Code: smtp; ...),
// else its status alone. Classified by the same rules as a round's.
delivery::RcptOutcome outcome_of(const DsnRecipientStatus& b, delivery::Status status) {
  const int code = reply_code_of(b.diagnostic_code);
  if (code >= 400 && code < 600) {
    delivery::RcptOutcome o = delivery::reply_outcome(code, b.status, b.diagnostic_code, b.remote_mta, b.remote_mta, "");
    o.status = status;
    return o;
  }
  std::string reason = b.diagnostic_code.empty() ? concat("Status: ", b.status) : b.diagnostic_code;
  return delivery::local_outcome(status, b.status, std::move(reason), b.remote_mta);
}

// The first line of a plain-text bounce's body that holds a permanent SMTP
// refusal with an enhanced status ("550 5.1.1 ..."), trimmed; "" when none.
// Only such a line makes a non-DSN a bounce: auto-replies (RFC 3834 sends
// them to the return path too) must not mark a delivered message bounced.
std::string permanent_reply_line(std::string_view content) {
  size_t body = content.find("\r\n\r\n");
  if (body == std::string_view::npos) return "";
  std::string_view rest = content.substr(body + 4, kPlainBounceScanBytes);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    line = trim(line);
    for (size_t i = 0; i + 9 <= line.size(); ++i) {
      std::string_view at = line.substr(i);
      if (at[0] != '5' || reply_code_of(at) == 0 || (i > 0 && digit(line[i - 1]))) continue;
      std::string_view status = at.substr(4);
      if (status.size() >= 5 && status[0] == '5' && status[1] == '.' && digit(status[2]))
        return std::string(at.substr(0, kPlainBounceReplyBytes));
    }
  }
  return "";
}

}  // namespace

const HistoryRecipient* match_recipient(const HistoryMessage& m, std::string_view named, std::string_view also_named) {
  const HistoryRecipient* only = nullptr;
  size_t sent = 0;
  for (const auto& r : m.recipients)
    if (r.state != kStateSuppressed) {
      only = &r;
      ++sent;
    }
  if (sent == 1) return only;
  for (const auto& r : m.recipients) {
    if (r.state == kStateSuppressed) continue;
    if ((!named.empty() && iequals(r.address, named)) || (!also_named.empty() && iequals(r.address, also_named)))
      return &r;
  }
  return nullptr;
}

Result<std::string> take_delivery_report(Platform& p, const IncomingReport& in) {
  auto target = parse_bounce_address(secret_bytes(p), local_part(in.recipient));
  if (!target) return make_error(ErrorCode::Invalid, "bounce address does not verify");
  auto found = p.history().find(target->message_id);
  if (!found) return make_error(ErrorCode::Temporary, concat("message history: ", found.error().message));
  if (!found->has_value())
    return make_error(ErrorCode::Invalid, concat("no history of message ", target->message_id, " (expired?)"));
  const HistoryMessage& m = **found;

  std::vector<RecipientResult> results;
  size_t unmatched = 0;
  auto report = parse_dsn(in.content);
  if (report) {
    for (const auto& b : report->recipients) {
      queue::RecipientState state;
      if (b.action == "failed")
        state = queue::RecipientState::Bounced;
      else if (b.action == "delayed")
        state = queue::RecipientState::Deferred;
      else
        continue;  // delivered, relayed, expanded: nothing went wrong
      const HistoryRecipient* who = match_recipient(m, b.final_recipient, b.original_recipient);
      if (!who) {
        ++unmatched;
        continue;
      }
      results.push_back(RecipientResult{who->address, state,
                                        outcome_of(b, state == queue::RecipientState::Bounced ? delivery::Status::Bounced
                                                                                              : delivery::Status::Deferred)});
    }
    if (results.empty())
      return make_error(ErrorCode::Invalid, unmatched ? "DSN names no recipient of the message"
                                                      : "DSN reports no failed or delayed recipient");
  } else {
    // Many receivers bounce in plain text. Counted only for a message with
    // one recipient and a body that states a permanent SMTP refusal.
    const HistoryRecipient* who = match_recipient(m, "", "");
    if (!who) return make_error(ErrorCode::Invalid, "not a DSN, and the message had several recipients");
    std::string line = permanent_reply_line(in.content);
    if (line.empty()) return make_error(ErrorCode::Invalid, "not a DSN, and no permanent SMTP reply in its text");
    const int code = reply_code_of(line);
    const std::string_view after_code = std::string_view(line).substr(4);
    const std::string enhanced(after_code.substr(0, after_code.find(' ')));
    delivery::RcptOutcome o = delivery::reply_outcome(code, enhanced, std::move(line), "", "", "");
    o.status = delivery::Status::Bounced;
    results.push_back(RecipientResult{who->address, queue::RecipientState::Bounced, std::move(o)});
  }

  ResultOrigin origin;
  origin.message_id = m.id;
  origin.campaign = m.campaign;
  origin.sender_domain = domain_of(m.from);
  origin.via = report ? "dsn" : "text";
  origin.dedup_prefix = concat("dsn:", in.queue_id, ":");
  p.delivery_events().record(origin, results);
  std::string summary = concat(origin.via, " bounce for ", m.id, ": ");
  for (size_t i = 0; i < results.size(); ++i)
    summary += concat(i ? ", " : "", results[i].address, " ",
                      results[i].state == queue::RecipientState::Bounced ? "bounced" : "deferred");
  if (unmatched) summary += concat(" (", std::to_string(unmatched), " unmatched)");
  return summary;
}

}  // namespace volley::platform
