// libFuzzer target: `volley send` on the admin socket (admin/send_protocol,
// admin/send_message) -- its own target, because fuzz_admin's
// handle_admin_request only refuses "send": the admin server takes a send
// line before it gets there. The input is the stream as the server frames
// it: the request line up to the first LF (a CR before it dropped), then
// the message bytes. Beyond "no crash, no UB": an accepted request holds to
// the limits and the address/subject checks, survives a make/parse round
// trip, and the message prepare_local_message makes from the `size` bytes
// after the line has CRLF line endings only and a From:, Date: and
// Message-ID: in its header block.
#include <cstdint>
#include <string>
#include <string_view>

#include "admin/send_message.hpp"
#include "admin/send_protocol.hpp"
#include "smtp/headers.hpp"

#include "fuzz_check.hpp"

using namespace volley::admin;

namespace {

const SendLimits kLimits{64 * 1024, 8};

void check_crlf(const std::string& bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\n') CHECK(i > 0 && bytes[i - 1] == '\r');
    if (bytes[i] == '\r') CHECK(i + 1 < bytes.size() && bytes[i + 1] == '\n');
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::string_view after = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  auto parsed = parse_send_request(line, kLimits);
  if (!parsed) return 0;  // not a send: handle_admin_request's (fuzz_admin)
  if (!*parsed) {
    const std::string answer = make_send_answer(parsed->error());
    CHECK(answer.rfind("{\"ok\":false", 0) == 0 && answer.find('\n') == std::string::npos);
    return 0;
  }
  const SendRequest& r = parsed->value();
  CHECK(r.size <= kLimits.max_message_size);
  CHECK(!r.to.empty() && r.to.size() <= kLimits.max_recipients);
  CHECK(address_problem(r.from).empty());
  for (const auto& to : r.to) CHECK(address_problem(to).empty());
  if (r.subject) CHECK(subject_problem(*r.subject).empty());

  const std::string again = make_send_request(r);
  CHECK(again.find('\n') == std::string::npos);
  auto reparsed = parse_send_request(again, kLimits);
  CHECK(reparsed && *reparsed);
  CHECK((*reparsed)->from == r.from && (*reparsed)->to == r.to && (*reparsed)->subject == r.subject &&
        (*reparsed)->size == r.size);

  const std::string_view raw = after.substr(0, static_cast<size_t>(r.size));
  const std::string message = prepare_local_message(raw, LocalMessageFields{r.from, r.subject, {1'700'000'000, "fuzz"}});
  check_crlf(message);
  CHECK(volley::smtp::header_block_end(message) > 0);
  for (const char* name : {"From", "Date", "Message-ID"}) CHECK(volley::smtp::has_header(message, name));
  if (r.subject) CHECK(volley::smtp::has_header(message, "Subject"));
  return 0;
}
