// libFuzzer target: what the report target reads from mail that comes back,
// past the DSN/ARF parsers (those are fuzz_report's): read_bounce (the DSN's
// blocks matched to a message's recipients, or a plain-text bounce's
// permanent reply) and find_mailto_token (the token search in the Subject
// and the body of mail to unsubscribe@D). Beyond "no crash, no UB": results
// only ever name recipients of the message that were sent to, a plain-text
// bounce only counts for a one-recipient message and a 5xx line, and a
// token found opens to fields that survive a make/open round trip.
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/bounce_reading.hpp"
#include "platform/mailto_token.hpp"
#include "util/strings.hpp"

#include "fuzz_check.hpp"

using namespace volley::platform;

namespace {

bool sent_to(const HistoryMessage& m, std::string_view address) {
  for (const auto& r : m.recipients)
    if (r.address == address && r.state != kStateSuppressed) return true;
  return false;
}

// Checks what read_bounce makes of `in` for `m`; its `via` ("" when refused).
std::string check_reading(const HistoryMessage& m, std::string_view in) {
  auto reading = read_bounce(m, in);
  if (!reading) {
    CHECK(reading.error().code == volley::ErrorCode::Invalid);
    return "";
  }
  CHECK(!reading->results.empty());
  CHECK(reading->via == "dsn" || reading->via == "text");
  for (const auto& r : reading->results) {
    CHECK(sent_to(m, r.address));
    CHECK(r.state == volley::queue::RecipientState::Bounced || r.state == volley::queue::RecipientState::Deferred);
  }
  if (reading->via == "text") {
    CHECK(reading->results.size() == 1 && reading->results[0].state == volley::queue::RecipientState::Bounced);
    const std::string line = permanent_reply_line(in);
    CHECK(!line.empty() && line.size() <= kPlainBounceReplyBytes && line[0] == '5');
  }
  return reading->via;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The secret of fuzz_unsubscribe_token, so its seeds open.
  static const std::string secret(32, 'k');
  static const HistoryMessage one{"0123456789ABCDEFGHIJ", 0, "news@brand.test", "", "[]", "",
                                   {{"alice@example.com", kStateDelivered, 1, ""}}};
  // Three recipients, one of them suppressed (never sent to).
  static const HistoryMessage several{"0123456789ABCDEFGHIJ", 0, "news@brand.test", "", "[]", "",
                                       {{"alice@example.com", kStateDelivered, 1, ""},
                                        {"bob@example.com", kStateDeferred, 2, "451 later"},
                                        {"carol@example.com", kStateSuppressed, 0, ""}}};
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  check_reading(one, in);
  CHECK(check_reading(several, in) != "text");  // a plain-text bounce counts for one recipient only

  if (auto who = find_mailto_token(secret, in)) {
    auto token = make_unsubscribe_token(secret, *who);
    CHECK(token.ok());
    auto again = open_unsubscribe_token(secret, token.value());
    CHECK(again.ok() && again.value() == *who);
  }
  return 0;
}
