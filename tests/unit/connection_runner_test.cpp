// The connection runner is protocol-neutral: these tests run a trivial
// line-echo protocol through it over loopback, in-process, and check what the
// runner alone is responsible for: limits at accept (with the protocol's
// refusal text), per-request deadlines (whole request, idle gap, minimum data
// rate), the connection lifetime, drain, implicit TLS and STARTTLS, the
// protocol's async work, and connect/disconnect logging.
#include "net/connection_runner.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/asio_compat.hpp"
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/read_until.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "net/self_signed.hpp"
#include "net/tls_context.hpp"

namespace volley::net {
namespace {
using namespace std::chrono_literals;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// ---- the protocol: echo each line; "data" starts a body ended by "." ----

struct EchoSettings {
  RequestTiming command{1000ms, 0ms, 0};
  RequestTiming body{0ms, 300ms, 0};
  std::chrono::milliseconds lifetime{0};
  std::shared_ptr<asio::ssl::context> tls;
  bool implicit_tls = false;
};

class EchoSession final : public Session {
 public:
  void start() override { out_ += "hello\r\n"; }
  void receive(std::string_view bytes) override { in_.append(bytes); }
  Step next() override {
    for (;;) {
      if (closed_) return Step::Close;
      if (want_tls_) return Step::StartTls;
      if (want_work_) return Step::Work;
      size_t lf = in_.find('\n');
      if (lf == std::string::npos) return Step::Read;
      std::string line = in_.substr(0, lf);
      in_.erase(0, lf + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!in_body_) ++progress_;  // a command line is one request, a whole body another
      if (in_body_) {
        if (line == ".") {
          ++progress_;
          in_body_ = false;
          out_ += "body " + std::to_string(body_bytes_) + "\r\n";
        } else {
          body_bytes_ += line.size() + 2;
        }
      } else if (line == "quit") {
        out_ += "bye\r\n";
        closed_ = true;
      } else if (line == "data") {
        out_ += "send body\r\n";
        in_body_ = true;
        body_bytes_ = 0;
      } else if (line == "tls") {
        out_ += "go\r\n";
        in_.clear();  // as STARTTLS: nothing pipelined in clear text survives
        want_tls_ = true;
      } else if (line == "work") {
        want_work_ = true;
      } else {
        out_ += line + "\r\n";
      }
    }
  }
  std::string take_output() override { return std::exchange(out_, std::string()); }
  void tls_started(const TlsInfo& info) override {
    want_tls_ = false;
    out_ += "tls " + info.version + "\r\n";
  }
  asio::awaitable<void> work(asio::any_io_executor ex) override {
    asio::steady_timer t(ex, 20ms);
    co_await t.async_wait(as_tuple(asio::use_awaitable));
    want_work_ = false;
    out_ += "worked\r\n";
  }
  void end(Ending why) override {
    out_ += why == Ending::Timeout ? "end timeout\r\n" : why == Ending::Shutdown ? "end shutdown\r\n" : "end lifetime\r\n";
    closed_ = true;
  }
  void connection_lost() override { closed_ = true; }
  bool idle() const override { return in_.empty() && !in_body_; }
  uint64_t progress() const override { return progress_; }
  RequestTiming timing() const override { return in_body_ ? settings.body : settings.command; }

  EchoSettings settings;

 private:
  std::string in_, out_;
  uint64_t progress_ = 0;
  uint64_t body_bytes_ = 0;
  bool in_body_ = false, closed_ = false, want_tls_ = false, want_work_ = false;
};

class EchoService final : public Service {
 public:
  explicit EchoService(EchoSettings s) : settings_(std::move(s)) {}
  const std::string& protocol() const override { return protocol_; }
  const std::string& listener() const override { return listener_; }
  bool implicit_tls() const override { return settings_.implicit_tls; }
  std::string refusal(Refusal why) const override {
    return why == Refusal::PerIp ? "busy per-ip\r\n" : why == Refusal::Total ? "busy total\r\n" : "busy shutdown\r\n";
  }
  Opened open(const Peer&) override {
    auto s = std::make_unique<EchoSession>();
    s->settings = settings_;
    Opened o;
    o.session = std::move(s);
    o.tls = settings_.tls;
    o.io_timeout = 2000ms;
    o.max_lifetime = settings_.lifetime;
    return o;
  }

 private:
  std::string protocol_ = "echo", listener_ = "test";
  EchoSettings settings_;
};

// The runner on one I/O thread, listening on a free loopback port.
class Server {
 public:
  explicit Server(EchoSettings s, uint32_t max_total = 100, uint32_t max_per_ip = 100)
      : table(std::make_shared<ConnectionTable>(max_total, max_per_ip)) {
    auto acc = open_acceptor(contexts.at(0), ListenSpec{"test", "127.0.0.1:0", "127.0.0.1", 0, 16});
    if (!acc) throw std::runtime_error(acc.error().message);
    acceptor = std::move(acc.value());
    port = acceptor->local_endpoint().port();
    asio::co_spawn(contexts.at(0), accept_loop(*acceptor, std::make_shared<EchoService>(std::move(s)), table, contexts),
                   asio::detached);
    thread = std::thread([this] { contexts.at(0).run(); });
  }
  ~Server() {
    contexts.at(0).stop();
    thread.join();
  }
  // The acceptor stays open: clients arriving during the drain get the refusal.
  void drain() { table->begin_drain(); }

  IoContexts contexts{1};
  std::shared_ptr<ConnectionTable> table;
  std::unique_ptr<tcp::acceptor> acceptor;
  uint16_t port = 0;
  std::thread thread;
};

// A blocking loopback client with timeouts (poll), for plain-text tests.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) { socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)); }
  void send(std::string_view s) { asio::write(socket_, asio::buffer(s)); }
  // The next line (without CRLF); "<timeout>" or "<closed>".
  std::string line(std::chrono::milliseconds timeout = 3000ms) {
    auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      if (auto lf = buf_.find("\r\n"); lf != std::string::npos) {
        std::string l = buf_.substr(0, lf);
        buf_.erase(0, lf + 2);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return "<timeout>";
      pollfd p{socket_.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "<timeout>";
      char b[4096];
      ssize_t n = ::recv(socket_.native_handle(), b, sizeof b, 0);
      if (n <= 0) return "<closed>";
      buf_.append(b, static_cast<size_t>(n));
    }
  }
  // What is buffered or arrives within `wait`, as one string.
  std::string pending(std::chrono::milliseconds wait) {
    std::string all;
    for (std::string l = line(wait); l != "<timeout>" && l != "<closed>"; l = line(wait)) all += l + "|";
    return all;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  std::string buf_;
};

double seconds_since(SteadyClock::time_point t0) { return std::chrono::duration<double>(SteadyClock::now() - t0).count(); }

struct Trickled {
  std::string reply;  // the first line the server sent meanwhile ("" if none)
  double seconds = 0;
};

// Sends `piece` every `every` (at most 60 times) until the server says something.
Trickled trickle(Client& c, std::string_view piece, std::chrono::milliseconds every) {
  Trickled t;
  auto t0 = SteadyClock::now();
  for (int i = 0; i < 60 && t.reply.empty(); ++i) {
    c.send(piece);
    std::string l = c.line(every);
    if (l != "<timeout>") t.reply = l;
  }
  t.seconds = seconds_since(t0);
  return t;
}

// ---- RequestDeadline: pure arithmetic on fake time ----

TEST(RequestDeadline, WholeRequestIsNotExtendedByReads) {
  RequestDeadline d;
  SteadyClock::time_point t0{};
  d.start(t0, RequestTiming{5000ms, 0ms, 0});
  EXPECT_FALSE(d.tracks_reads());
  d.received(t0 + 4000ms, 1);
  EXPECT_EQ(d.deadline(), t0 + 5000ms);
}

TEST(RequestDeadline, IdleGapMovesWithEachRead) {
  RequestDeadline d;
  SteadyClock::time_point t0{};
  d.start(t0, RequestTiming{0ms, 2000ms, 0});
  EXPECT_TRUE(d.tracks_reads());
  EXPECT_EQ(d.deadline(), t0 + 2000ms);
  d.received(t0 + 1500ms, 1);
  EXPECT_EQ(d.deadline(), t0 + 3500ms);
}

TEST(RequestDeadline, MinimumRateCreditsEachByte) {
  RequestDeadline d;
  SteadyClock::time_point t0{};
  d.start(t0, RequestTiming{0ms, 2000ms, 1000});  // 1000 B/s after the first 2 s
  d.received(t0 + 1000ms, 500);                   // credit 0.5 s: rate limit at 2.5 s, idle at 3 s
  EXPECT_EQ(d.deadline(), t0 + 2500ms);
  // A steady sender above the rate: the idle gap is the nearer bound.
  for (int i = 2; i <= 100; ++i) d.received(t0 + i * 1000ms, 2000);
  EXPECT_EQ(d.deadline(), t0 + 102000ms);
  // A sender far below the rate: cut when the credit runs out, though it never idles.
  RequestDeadline slow;
  slow.start(t0, RequestTiming{0ms, 2000ms, 1000});
  for (int i = 1; i <= 10; ++i) slow.received(t0 + i * 500ms, 10);
  EXPECT_EQ(slow.deadline(), t0 + 2100ms);
}

// ---- the runner over loopback ----

TEST(ConnectionRunner, EchoesAndAnswersAPipelinedBatch) {
  Server srv(EchoSettings{});
  Client c(srv.port);
  EXPECT_EQ(c.line(), "hello");
  c.send("a\r\nb\r\nwork\r\nc\r\n");
  EXPECT_EQ(c.line(), "a");
  EXPECT_EQ(c.line(), "b");
  EXPECT_EQ(c.line(), "worked");
  EXPECT_EQ(c.line(), "c");
  c.send("quit\r\n");
  EXPECT_EQ(c.line(), "bye");
  EXPECT_EQ(c.line(), "<closed>");
  // The slot is returned when the connection ends.
  for (int i = 0; i < 100 && srv.table->active() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(srv.table->active(), 0u);
}

TEST(ConnectionRunner, PerAddressAndTotalLimitsUseTheProtocolsRefusal) {
  {
    Server srv(EchoSettings{}, 100, 1);
    Client a(srv.port);
    EXPECT_EQ(a.line(), "hello");
    Client b(srv.port);
    EXPECT_EQ(b.line(), "busy per-ip");
    EXPECT_EQ(b.line(), "<closed>");
  }
  {
    Server srv(EchoSettings{}, 1, 100);
    Client a(srv.port);
    EXPECT_EQ(a.line(), "hello");
    Client b(srv.port);
    EXPECT_EQ(b.line(), "busy total");
  }
}

TEST(ConnectionRunner, WholeRequestDeadlineCutsASlowLoris) {
  EchoSettings s;
  s.command = RequestTiming{600ms, 0ms, 0};
  Server srv(s);
  Client c(srv.port);
  EXPECT_EQ(c.line(), "hello");
  // One byte every 100 ms never completes a line: each read must not extend the deadline.
  Trickled t = trickle(c, "x", 100ms);
  EXPECT_EQ(t.reply, "end timeout");
  EXPECT_GE(t.seconds, 0.5);
  EXPECT_LE(t.seconds, 1.5);
}

TEST(ConnectionRunner, BodySteadySenderIsNotCut) {
  EchoSettings s;
  s.body = RequestTiming{0ms, 500ms, 2000};  // idle 500 ms, then 2000 B/s
  Server srv(s);
  Client c(srv.port);
  EXPECT_EQ(c.line(), "hello");
  c.send("data\r\n");
  EXPECT_EQ(c.line(), "send body");
  // ~10,000 B/s for 1.5 s (three times the idle bound): five times the minimum rate.
  std::string chunk(98, 'y');
  for (int i = 0; i < 150; ++i) {
    c.send(chunk + "\r\n");
    std::this_thread::sleep_for(10ms);
  }
  c.send(".\r\n");
  EXPECT_EQ(c.line(), "body 15000");
}

TEST(ConnectionRunner, BodyBelowMinimumRateIsCut) {
  EchoSettings s;
  s.body = RequestTiming{0ms, 300ms, 2000};
  Server srv(s);
  Client c(srv.port);
  EXPECT_EQ(c.line(), "hello");
  c.send("data\r\n");
  EXPECT_EQ(c.line(), "send body");
  // 10 bytes every 50 ms = 200 B/s: never idle, but a tenth of the minimum.
  Trickled t = trickle(c, "zzzzzzzz\r\n", 50ms);
  EXPECT_EQ(t.reply, "end timeout");
  EXPECT_GE(t.seconds, 0.25);
  EXPECT_LE(t.seconds, 1.2);
}

TEST(ConnectionRunner, BodyIdleGapIsCut) {
  EchoSettings s;
  s.body = RequestTiming{0ms, 400ms, 0};
  Server srv(s);
  Client c(srv.port);
  EXPECT_EQ(c.line(), "hello");
  c.send("data\r\nsome\r\n");
  EXPECT_EQ(c.line(), "send body");
  auto t0 = SteadyClock::now();
  EXPECT_EQ(c.line(2000ms), "end timeout");
  double took = seconds_since(t0);
  EXPECT_GE(took, 0.3);
  EXPECT_LE(took, 1.0);
}

TEST(ConnectionRunner, LifetimeEndsAnIdleConnection) {
  EchoSettings s;
  s.lifetime = 500ms;
  Server srv(s);
  Client c(srv.port);
  EXPECT_EQ(c.line(), "hello");
  auto t0 = SteadyClock::now();
  EXPECT_EQ(c.line(2000ms), "end lifetime");
  EXPECT_EQ(c.line(), "<closed>");
  EXPECT_GE(seconds_since(t0), 0.4);
}

TEST(ConnectionRunner, LifetimeWaitsForTheRequestUnderWay) {
  EchoSettings s;
  s.lifetime = 400ms;
  s.body = RequestTiming{0ms, 1000ms, 0};
  Server srv(s);
  Client c(srv.port);
  EXPECT_EQ(c.line(), "hello");
  c.send("data\r\n");
  EXPECT_EQ(c.line(), "send body");
  for (int i = 0; i < 8; ++i) {  // 800 ms of body: past the lifetime
    c.send("line\r\n");
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(c.pending(50ms), "") << "nothing may interrupt the body";
  c.send(".\r\n");
  EXPECT_EQ(c.line(), "body 48");
  EXPECT_EQ(c.line(), "end lifetime");
}

TEST(ConnectionRunner, DrainEndsIdleSessionsAndRefusesNewOnes) {
  Server srv(EchoSettings{});
  Client idle(srv.port);
  EXPECT_EQ(idle.line(), "hello");
  Client busy(srv.port);
  EXPECT_EQ(busy.line(), "hello");
  busy.send("data\r\nfirst\r\n");
  EXPECT_EQ(busy.line(), "send body");
  srv.drain();
  EXPECT_EQ(idle.line(), "end shutdown");
  Client late(srv.port);
  EXPECT_EQ(late.line(), "busy shutdown");
  EXPECT_EQ(busy.pending(100ms), "") << "a request under way is allowed to finish";
  busy.send(".\r\n");
  EXPECT_EQ(busy.line(), "body 7");
  EXPECT_EQ(busy.line(), "end shutdown");
  for (int i = 0; i < 100 && srv.table->active() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(srv.table->active(), 0u);
}

// TLS, with the development instance's self-signed certificate helper.
class TlsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/volley-runner-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto paths = ensure_self_signed(dir_, "localhost");
    ASSERT_TRUE(paths.ok()) << paths.error().message;
    auto ctx = make_server_tls_context(paths->cert, paths->key, "1.2");
    ASSERT_TRUE(ctx.ok()) << ctx.error().message;
    server_tls_ = ctx.value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Reads one CRLF line from a TLS stream.
  static std::string tls_line(asio::ssl::stream<tcp::socket>& s, asio::streambuf& b) {
    asio::error_code ec;
    asio::read_until(s, b, "\r\n", ec);
    if (ec) return "<" + ec.message() + ">";
    std::istream is(&b);
    std::string l;
    std::getline(is, l);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    return l;
  }

  std::string dir_;
  std::shared_ptr<asio::ssl::context> server_tls_;
};

TEST_F(TlsFixture, ImplicitTls) {
  EchoSettings s;
  s.tls = server_tls_;
  s.implicit_tls = true;
  Server srv(s);
  asio::io_context io;
  asio::ssl::context client_ctx(asio::ssl::context::tls_client);
  asio::ssl::stream<tcp::socket> tls(io, client_ctx);
  tls.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.port));
  tls.handshake(asio::ssl::stream_base::client);
  asio::streambuf b;
  std::string first = tls_line(tls, b);
  EXPECT_EQ(first.rfind("tls TLSv1.", 0), 0u) << first;
  EXPECT_EQ(tls_line(tls, b), "hello");
  asio::write(tls, asio::buffer(std::string("secret\r\n")));
  EXPECT_EQ(tls_line(tls, b), "secret");
}

TEST_F(TlsFixture, StartTlsDiscardsPipelinedClearText) {
  EchoSettings s;
  s.tls = server_tls_;
  Server srv(s);
  asio::io_context io;
  asio::ssl::context client_ctx(asio::ssl::context::tls_client);
  asio::ssl::stream<tcp::socket> tls(io, client_ctx);
  tls.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.port));
  asio::streambuf clear;
  asio::read_until(tls.next_layer(), clear, "hello\r\n");
  asio::write(tls.next_layer(), asio::buffer(std::string("tls\r\ninjected\r\n")));
  asio::read_until(tls.next_layer(), clear, "go\r\n");
  tls.handshake(asio::ssl::stream_base::client);
  asio::streambuf b;
  EXPECT_EQ(tls_line(tls, b).rfind("tls TLSv1.", 0), 0u);
  asio::write(tls, asio::buffer(std::string("after\r\n")));
  EXPECT_EQ(tls_line(tls, b), "after") << "the clear-text 'injected' line must never be executed";
}

}  // namespace
}  // namespace volley::net
