// libFuzzer target: the queue's on-disk record and envelope decoders, which
// read whatever a crash or a failing disk left behind. Checks: no crash/UB;
// a decoded record's size is within the input; an envelope that parses
// re-serialises to text that parses to the same envelope.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "queue/envelope.hpp"
#include "queue/record.hpp"

using namespace volley::queue;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  RecordView rec{};
  if (decode_record(in, rec) == DecodeStatus::Ok) {
    CHECK(rec.total_size <= in.size());
    Envelope env;
    std::string_view content;
    if (rec.type == RecordType::Message) (void)decode_message_payload(rec.payload, env, content);
    if (rec.type == RecordType::StoredMessage) {
      std::string_view head;
      StoredBody body;
      if (decode_stored_message_payload(rec.payload, env, head, body)) CHECK(head.size() <= rec.payload.size());
    }
  }
  Envelope env;
  if (parse_envelope(in, env)) {
    Envelope again;
    CHECK(parse_envelope(serialize_envelope(env), again));
    CHECK(again.id == env.id && again.sender == env.sender && again.recipients.size() == env.recipients.size());
    CHECK(again.attempts.size() == env.attempts.size());
  }
  return 0;
}
