// libFuzzer target: the admin socket's request handler on arbitrary lines.
// Checks: never throws or crashes, always answers one JSON line that starts
// with {"ok":.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "admin/admin_protocol.hpp"
#include "fuzz_check.hpp"
#include "queue/queue_id.hpp"

namespace {
using namespace volley::queue;

class FakeQueue : public QueueAdmin {
 public:
  std::vector<QueueEntry> list(const ListFilter&) const override {
    QueueEntry e;
    e.id = "0123456789ABCDEFGHIJ";
    e.sender = "a\xff\x01@b";
    e.recipients = 1;
    e.domains = {"x.test"};
    return {e};
  }
  size_t count() const override { return 1; }
  std::optional<Message> show(const std::string& id) const override {
    if (id != "0123456789ABCDEFGHIJ") return std::nullopt;
    Message m;
    m.envelope.id = id;
    m.envelope.helo = "\xc3\x28";
    m.content = "Subject: \xff\xfe\r\n\r\nbody";
    return m;
  }
  volley::Result<void> remove(const std::string& id) override {
    if (id != "0123456789ABCDEFGHIJ") return volley::make_error("no such message " + id);
    return {};
  }
  // Whatever reaches the engine has passed validation: a well-formed id, a
  // lowercase domain name within the limit.
  volley::Result<size_t> retry(const std::string& id) override {
    CHECK(is_valid_queue_id(id));
    if (id != "0123456789ABCDEFGHIJ") return volley::make_error("no such message " + id);
    return size_t{1};
  }
  volley::Result<size_t> retry_all() override { return size_t{3}; }
  volley::Result<size_t> flush(const std::string& domain) override {
    CHECK(!domain.empty() && domain.size() <= volley::admin::kMaxFlushDomainBytes);
    CHECK(std::none_of(domain.begin(), domain.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
    if (domain == "x.test") return volley::make_error("destination \xff paused");
    return size_t{2};
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FakeQueue q;
  std::string answer = volley::admin::handle_admin_request(
      std::string_view(reinterpret_cast<const char*>(data), size), q);
  CHECK(answer.rfind("{\"ok\":", 0) == 0);
  CHECK(answer.find('\n') == std::string::npos || answer.find('\n') == answer.size() - 1);
  return 0;
}
