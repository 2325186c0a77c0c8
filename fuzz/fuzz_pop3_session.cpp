// Drives the whole POP3 session with arbitrary client bytes, split into reads
// at positions chosen by the input, with the adapter's actions answered from
// the input too (login ok / wrong / rate-limited, maildrop open ok / in use,
// reads and commit ok or failing), over a small in-memory maildrop.
// Checks: no crash/UB, every reply is CRLF-terminated with no NUL, output
// per step bounded, a commit only after QUIT in TRANSACTION.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pop3/session.hpp"

#include "fuzz_check.hpp"

namespace {
using namespace volley;
using namespace volley::pop3;

struct Knobs {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  uint8_t next() { return size == 0 ? 0 : data[at++ % size]; }
};

class Reader : public MessageReader {
 public:
  Reader(std::string b, bool fail) : b_(std::move(b)), fail_(fail) {}
  Result<void> read(std::string& out, size_t max) override {
    if (fail_ && at_ > 0) return make_error("read failed");
    out = b_.substr(at_, std::min<size_t>(max, 7));  // small pieces: exercise the boundaries
    at_ += out.size();
    return {};
  }

 private:
  std::string b_;
  bool fail_;
  size_t at_ = 0;
};

class Drop : public Maildrop {
 public:
  Drop(Knobs& k, bool& committed) : k_(k), committed_(committed) {
    for (const char* m : {"Subject: a\r\n\r\n.x\r\n..\r\n", "S: b\r\n\r\nl1\r\nl2\r\n", ""})
      msgs_.emplace_back(m);
    for (size_t i = 0; i < msgs_.size(); ++i) entries_.push_back({msgs_[i].size()});
  }
  const std::vector<MaildropEntry>& entries() const override { return entries_; }
  std::string uidl(size_t i) const override {
    CHECK(i < msgs_.size());
    return std::string(16, static_cast<char>('a' + i));
  }
  Result<std::unique_ptr<MessageReader>> open_message(size_t i) override {
    CHECK(i < msgs_.size());
    if (k_.next() % 8 == 0) return make_error(ErrorCode::NotFound, "gone");
    return std::unique_ptr<MessageReader>(std::make_unique<Reader>(msgs_[i], k_.next() % 8 == 0));
  }
  Result<void> commit(const std::vector<size_t>& deleted, const std::vector<size_t>& retrieved) override {
    for (size_t i : deleted) CHECK(i < msgs_.size());
    for (size_t i : retrieved) CHECK(i < msgs_.size());
    committed_ = true;
    if (k_.next() % 4 == 0) return make_error(ErrorCode::Io, "commit failed");
    return {};
  }

 private:
  Knobs& k_;
  bool& committed_;
  std::vector<std::string> msgs_;
  std::vector<MaildropEntry> entries_;
};

// `waiting`: the session waits for the client (or closes), so its replies
// are complete lines; while a message streams, a piece may end mid-line.
void check_output(const std::string& out, bool waiting) {
  CHECK(out.size() <= 2 * kOutputHighWater + 2 * kMaxAuthLine);
  if (waiting) CHECK(out.empty() || (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0));
  CHECK(out.find('\0') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Knobs k{data, 2};
  SessionSettings st;
  st.hostname = "pop.test";
  st.tls_mode = (data[0] & 1) ? config::TlsMode::StartTls : config::TlsMode::Implicit;
  st.require_tls_for_auth = data[0] & 2;
  Session s(st, "192.0.2.1");
  if (data[0] & 4) s.tls_started();
  s.start();
  bool committed = false;
  bool quit_seen_in_transaction = false;
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t pos = 0;
  int steps = 0;
  for (;;) {
    Session::Action a = s.next();
    check_output(s.take_output(), a == Session::Action::Read || a == Session::Action::Close);
    CHECK(++steps < 1'000'000);
    if (a == Session::Action::Close) break;
    switch (a) {
      case Session::Action::Read: {
        if (pos >= in.size()) {
          s.connection_lost();
          continue;
        }
        const size_t n = 1 + data[1] % 64;
        s.receive(in.substr(pos, n));
        pos += n;
        break;
      }
      case Session::Action::StartTls: s.tls_started(); break;
      case Session::Action::Authenticate: {
        const uint8_t r = k.next() % 4;
        if (r == 0) s.auth_result(make_error(ErrorCode::Permanent, "bad"));
        else if (r == 1) s.auth_result(make_error(ErrorCode::RateLimited, "budget"));
        else s.auth_result(Result<std::string>(std::string("alice@local.test")));
        break;
      }
      case Session::Action::Open:
        if (k.next() % 4 == 0) s.open_result(make_error(ErrorCode::Busy, "in use"));
        else s.open_result(std::unique_ptr<Maildrop>(std::make_unique<Drop>(k, committed)));
        break;
      case Session::Action::Fetch: {
        FetchJob job = s.take_fetch();
        run_fetch(job);
        s.fetch_result(std::move(job));
        break;
      }
      case Session::Action::Commit: {
        quit_seen_in_transaction = true;
        auto job = s.take_commit();
        CHECK(job.maildrop != nullptr);
        s.commit_result(run_commit(job));
        break;
      }
      case Session::Action::Flush:
      case Session::Action::Close: break;
    }
  }
  CHECK(!committed || quit_seen_in_transaction);
  s.release_maildrop().reset();
  return 0;
}
