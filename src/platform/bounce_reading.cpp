#include "platform/bounce_reading.hpp"

#include <cctype>

#include "delivery/outcome.hpp"
#include "platform/incoming_reports.hpp"
#include "platform/reports.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

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

}  // namespace

std::string permanent_reply_line(std::string_view content) {
  size_t body = content.find("\r\n\r\n");
  if (body == std::string_view::npos) return "";
  std::string_view rest = content.substr(body + 4, kPlainBounceScanBytes);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    // The kept line goes into the event and the history: no CR, no blanks.
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
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

Result<BounceReading> read_bounce(const HistoryMessage& m, std::string_view content) {
  BounceReading out;
  auto report = parse_dsn(content);
  if (report) {
    out.via = "dsn";
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
        ++out.unmatched;
        continue;
      }
      out.results.push_back(RecipientResult{who->address, state,
                                            outcome_of(b, state == queue::RecipientState::Bounced
                                                              ? delivery::Status::Bounced
                                                              : delivery::Status::Deferred)});
    }
    if (out.results.empty())
      return make_error(ErrorCode::Invalid, out.unmatched ? "DSN names no recipient of the message"
                                                      : "DSN reports no failed or delayed recipient");
  } else {
    out.via = "text";
    // Many receivers bounce in plain text. Counted only for a message with
    // one recipient and a body that states a permanent SMTP refusal.
    const HistoryRecipient* who = match_recipient(m, "", "");
    if (!who) return make_error(ErrorCode::Invalid, "not a DSN, and the message had several recipients");
    std::string line = permanent_reply_line(content);
    if (line.empty()) return make_error(ErrorCode::Invalid, "not a DSN, and no permanent SMTP reply in its text");
    const int code = reply_code_of(line);
    const std::string_view after_code = std::string_view(line).substr(4);
    const std::string enhanced(after_code.substr(0, after_code.find(' ')));
    delivery::RcptOutcome o = delivery::reply_outcome(code, enhanced, std::move(line), "", "", "");
    o.status = delivery::Status::Bounced;
    out.results.push_back(RecipientResult{who->address, queue::RecipientState::Bounced, std::move(o)});
  }
  return out;
}

}  // namespace volley::platform
