// libFuzzer target: the POST /v1/messages and /v1/campaigns validators on
// arbitrary bodies, and the GMime builder on whatever they accept. Beyond
// "no crash, no UB": an accepted request always builds, the message has CRLF
// line endings and no line over 998 octets, and no Bcc address appears in it.
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/campaign_request.hpp"
#include "platform/message_request.hpp"
#include "platform/mime_builder.hpp"

#include "fuzz_check.hpp"

using namespace volley::platform;

namespace {

const MessageStamp kStamp{1'700'000'000, "fuzz"};

void check_wire(const std::string& bytes) {
  size_t line = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\n') {
      CHECK(i > 0 && bytes[i - 1] == '\r');
      line = 0;
    } else {
      CHECK(bytes[i] != '\r' || (i + 1 < bytes.size() && bytes[i + 1] == '\n'));
      CHECK(++line <= 999);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto r = parse_message_request(in, MessageLimits{50, 1024 * 1024}); r.ok()) {
    auto m = build_message(r.value(), {}, kStamp);
    CHECK(m.ok());
    check_wire(m->bytes);
    const std::string head = m->bytes.substr(0, m->bytes.find("\r\n\r\n"));
    for (const NamedAddress& b : r->bcc) {
      bool elsewhere = false;  // also in To/Cc: then it may appear
      for (const auto* list : {&r->to, &r->cc})
        for (const NamedAddress& a : *list) elsewhere = elsewhere || a.address == b.address;
      if (!elsewhere && b.address.size() > 6 && r->from.address != b.address &&
          (!r->reply_to || r->reply_to->address != b.address))
        CHECK(head.find(b.address) == std::string::npos || r->subject.find(b.address) != std::string::npos ||
              r->from.name.find(b.address) != std::string::npos);
    }
  }
  if (auto c = parse_campaign_request(in, CampaignLimits{100, 1024 * 1024}); c.ok()) {
    for (size_t i = 0; i < c->recipients.size() && i < 3; ++i) {
      auto m = render_campaign_message(c.value(), i, {{"List-Unsubscribe", "<https://h.example/unsubscribe/T>"}}, kStamp);
      CHECK(m.ok());
      check_wire(m->bytes);
    }
  }
  return 0;
}
