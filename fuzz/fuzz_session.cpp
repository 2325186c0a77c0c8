// Drives the whole SMTP session state machine with arbitrary client bytes,
// split into reads at positions chosen by the input, with the loop's actions
// answered from the input too (TLS ok, auth ok/failed, commit ok/failed).
// Checks: no crash/UB, bounded output, every reply line is well-formed
// ("ddd" + ' ' or '-', CRLF-terminated, no bare CR/LF), and stored content
// has CRLF-only line endings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "smtp/session.hpp"

namespace {
using namespace volley;

class Dir : public smtp::Directory {
 public:
  bool is_local_domain(const std::string& d) const override { return d == "local.test"; }
  Result<std::vector<std::string>> local_targets(const std::string& a) const override {
    if (a == "alice@local.test" || a.rfind("postmaster@", 0) == 0) return std::vector<std::string>{a};
    if (a == "list@local.test") return std::vector<std::string>{"alice@local.test", "bob@remote.test"};
    if (a == "busy@local.test") return make_error(ErrorCode::Io, "users unreadable");
    return make_error(ErrorCode::NotFound, "no such user");
  }
  Result<void> check_sender(const std::string&, const smtp::Mailbox& sender) const override {
    if (sender.domain == "local.test") return {};
    if (sender.domain == "busy.test") return make_error(ErrorCode::Io, "users unreadable");
    return make_error(ErrorCode::Permanent, "not owned");
  }
  std::string postmaster() const override { return "postmaster@local.test"; }
  bool relay_allowed(const net::IpAddress&) const override { return false; }
};

void check_replies(const std::string& out) {
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find("\r\n", pos);
    if (end == std::string::npos) std::abort();
    std::string_view line(out.data() + pos, end - pos);
    if (line.size() < 3) std::abort();
    for (int i = 0; i < 3; ++i)
      if (line[i] < '0' || line[i] > '9') std::abort();
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-') std::abort();
    for (char c : line)
      if (c == '\r' || c == '\n' || c == '\0') std::abort();
    pos = end + 2;
  }
}

void check_content(const std::string& c) {
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] == '\n' && (i == 0 || c[i - 1] != '\r')) std::abort();
    if (c[i] == '\r' && (i + 1 >= c.size() || c[i + 1] != '\n')) std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  smtp::SessionSettings settings;
  settings.hostname = "mx.test";
  settings.role = (data[0] & 1) ? config::SmtpRole::Submission : config::SmtpRole::Mx;
  settings.tls_mode = config::TlsMode::StartTls;
  settings.require_tls_for_auth = (data[0] & 2) != 0;
  settings.limits.max_message_size = 4096;
  settings.limits.max_line_length = 1000;
  settings.limits.max_recipients = 5;
  settings.limits.max_errors = 50;
  // Small enough that the fuzzer reaches the large-message (spill) path.
  settings.limits.message_memory_threshold = 512;
  uint8_t choices = data[1];
  data += 2;
  size -= 2;
  smtp::ClientInfo client;
  client.ip = "192.0.2.1";
  client.address = *net::IpAddress::parse("192.0.2.1");
  Dir dir;
  smtp::Session s(settings, client, dir);
  s.start();
  size_t pos = 0;
  size_t step = 1 + (choices % 61);
  for (int rounds = 0; rounds < 100000; ++rounds) {
    auto a = s.next();
    std::string out = s.take_output();
    if (out.size() > 1 << 20) std::abort();
    check_replies(out);
    using A = smtp::Session::Action;
    if (a == A::Close) break;
    if (a == A::Read) {
      if (pos >= size) break;
      size_t n = std::min(step, size - pos);
      s.receive(std::string_view(reinterpret_cast<const char*>(data) + pos, n));
      pos += n;
      step = 1 + ((step * 7 + choices) % 97);
    } else if (a == A::StartTls) {
      s.tls_started(smtp::TlsInfo{"TLSv1.3", "TLS_AES_128_GCM_SHA256"});
    } else if (a == A::Authenticate) {
      // Ok, bad credentials, rate-limited or temporary, chosen by the input.
      static const ErrorCode kFailures[] = {ErrorCode::Permanent, ErrorCode::RateLimited, ErrorCode::Io};
      if (choices & 4)
        s.auth_result(std::string("alice@local.test"));
      else
        s.auth_result(make_error(kFailures[(choices >> 4) % 3], "fuzz"));
    } else if (a == A::Commit) {
      auto m = s.take_commit();
      if (!m) std::abort();
      check_content(m->content);
      s.commit_result((choices & 8) ? volley::Result<void>{} : volley::Result<void>{volley::make_error(volley::ErrorCode::NoSpace, "disk full")});
    } else if (a == A::Spill) {
      auto r = s.take_spill();
      // A piece is never much more than the threshold plus what one receive() gave.
      if (r.bytes.size() > 512 + 200) std::abort();
      const bool ok = (choices & 16) != 0;
      auto result = ok ? volley::Result<void>{} : volley::Result<void>{volley::make_error(volley::ErrorCode::Io, "write failed")};
      if (r.kind == smtp::SpillRequest::Kind::Append) s.spill_result(result);
      if (r.kind == smtp::SpillRequest::Kind::Commit) {
        if (!r.head) std::abort();
        s.commit_result(result);
      }
    }
  }
  return 0;
}
