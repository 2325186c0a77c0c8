#include "delivery/smtp_client.hpp"

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "delivery/limits.hpp"
#include "net/asio_compat.hpp"
#include "delivery/client_commands.hpp"
#include "delivery/client_content.hpp"
#include "util/log.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// Note on co_await: every string a co_await expression needs is a named
// local first (GCC 12 mis-relocates temporaries holding SSO strings).

namespace volley::delivery {
namespace {
using asio::ip::tcp;
constexpr auto kUseTuple = as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = limits::kReadChunk;

std::string endpoint_text(const Endpoint& ep) {
  std::string ip = ep.address.to_string();
  return (ep.host.empty() ? std::string() : ep.host) + "[" + ip + "]:" + std::to_string(ep.port);
}

}  // namespace

TlsPolicy parse_tls_policy(const std::string& s) {
  if (s == "required") return TlsPolicy::Required;
  if (s == "none") return TlsPolicy::None;
  return TlsPolicy::Opportunistic;
}

SmtpClient::SmtpClient(asio::any_io_executor ex, ClientSettings settings)
    : ex_(ex), settings_(std::move(settings)), socket_(ex), timer_(ex) {}

SmtpClient::~SmtpClient() { close(); }

void SmtpClient::arm(std::chrono::milliseconds d) {
  timed_out_ = false;
  const uint64_t gen = ++timer_generation_;
  timer_.expires_after(d);
  timer_.async_wait([this, gen](const asio::error_code& ec) {
    // On destruction the wait completes with operation_aborted before
    // `this` is gone; never touch members in that case.
    if (ec) return;
    if (gen != timer_generation_) return;
    timed_out_ = true;
    asio::error_code ignored;
    socket_.close(ignored);
  });
}

void SmtpClient::disarm() {
  ++timer_generation_;
  timer_.cancel();
}

void SmtpClient::close() {
  alive_ = false;
  disarm();
  asio::error_code ignored;
  if (socket_.is_open()) {
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
}

std::string SmtpClient::io_error(const char* during) const {
  std::string what = timed_out_ ? "timed out" : (last_error_.empty() ? "connection lost" : last_error_);
  return (timed_out_ ? "conversation with " : "lost connection with ") + relay_ + " " + what + " while " + during;
}

void SmtpClient::fail(Status status, std::string enhanced, std::string reason) {
  failure_ = local_outcome(status, std::move(enhanced), std::move(reason), relay_);
  failure_.remote_mta = host_;
  failure_.tls = tls_name_;
  stamp(failure_);
  close();
}

void SmtpClient::stamp(RcptOutcome& o) const {
  o.policy = policy_label(policy_.get());
  o.verified = verified_;
}

RcptOutcome SmtpClient::from_reply(const ServerReply& r) const {
  RcptOutcome o = reply_outcome(r.code, r.enhanced, r.text(), relay_, host_, tls_name_);
  stamp(o);
  return o;
}

bool SmtpClient::policy_allows(TlsOutcome tls, const std::string& detail) {
  const Decision dd = decide(policy_.get(), host_, true, tls);
  if (dd.verdict == Verdict::Deliver) return true;
  const std::string reason = detail.empty() ? dd.reason : dd.reason + " (" + detail + ")";
  if (dd.verdict == Verdict::DeliverAndLog) {
    log::warn("mta_sts.testing").kv("relay", relay_).kv("would_fail", reason);
    return true;
  }
  fail(Status::Deferred, tls == TlsOutcome::NotOffered ? "4.7.4" : "4.7.5", reason);
  return false;
}

bool SmtpClient::policy_requires_tls() const {
  return policy_ && (policy_->kind == PolicyKind::Dane || (policy_->kind == PolicyKind::MtaSts && !policy_->testing));
}

asio::awaitable<bool> SmtpClient::write(std::string_view data, std::chrono::milliseconds timeout) {
  arm(timeout);
  asio::error_code ec;
  if (tls_) {
    auto [e, n] = co_await asio::async_write(*tls_, asio::buffer(data.data(), data.size()), kUseTuple);
    ec = e;
  } else {
    auto [e, n] = co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()), kUseTuple);
    ec = e;
  }
  disarm();
  if (ec) {
    last_error_ = ec.message();
    co_return false;
  }
  co_return true;
}

asio::awaitable<std::optional<ServerReply>> SmtpClient::read_reply(std::chrono::milliseconds timeout) {
  ServerReply reply;
  for (;;) {
    std::string_view view(in_);
    auto st = reader_.next(view, reply);
    in_.erase(0, in_.size() - view.size());
    if (st == ReplyReader::Status::Ready) {
      throttled_ = is_throttle(reply.code, reply.enhanced);
      co_return reply;
    }
    if (st == ReplyReader::Status::Error) {
      last_error_ = "malformed reply: " + reader_.error();
      close();
      co_return std::nullopt;
    }
    char buf[kReadChunk];
    arm(timeout);
    asio::error_code ec;
    size_t n = 0;
    if (tls_) {
      auto [e, got] = co_await tls_->async_read_some(asio::buffer(buf), kUseTuple);
      ec = e;
      n = got;
    } else {
      auto [e, got] = co_await socket_.async_read_some(asio::buffer(buf), kUseTuple);
      ec = e;
      n = got;
    }
    disarm();
    if (ec) {
      last_error_ = ec == asio::error::eof ? "connection closed by server" : ec.message();
      close();
      co_return std::nullopt;
    }
    in_.append(buf, n);
  }
}

asio::awaitable<std::optional<ServerReply>> SmtpClient::command(std::string_view line,
                                                                     std::chrono::milliseconds timeout) {
  if (!co_await write(line, settings_.command_timeout)) co_return std::nullopt;
  auto reply = co_await read_reply(timeout);
  co_return reply;
}

asio::awaitable<bool> SmtpClient::connect(const std::vector<Endpoint>& endpoints, std::vector<asio::ip::address> sources) {
  if (endpoints.empty()) {
    fail(Status::Deferred, "4.4.4", "no address to connect to");
    co_return false;
  }
  // A permanent refusal (5xx greeting/EHLO) counts only if no host could be
  // reached at all; a temporary problem anywhere keeps the mail deferred.
  for (const auto& ep : endpoints) {
    tls_failed_ = false;
    if (co_await open_endpoint(ep, sources, true)) co_return true;
    // Opportunistic TLS (RFC 7435): a receiver whose TLS is broken gets the
    // mail in clear on a fresh connection rather than never.
    // Never for a host whose receiver's policy (DANE, MTA-STS enforce) makes TLS mandatory.
    if (tls_failed_ && settings_.tls == TlsPolicy::Opportunistic && !policy_requires_tls() &&
        co_await open_endpoint(ep, sources, false))
      co_return true;
  }
  co_return false;
}

asio::awaitable<bool> SmtpClient::open_endpoint(const Endpoint& ep, const std::vector<asio::ip::address>& sources,
                                                bool use_tls) {
  close();
  tls_.reset();
  in_.clear();
  reader_ = ReplyReader();
  caps_ = ServerCapabilities{};
  tls_name_ = "none";
  policy_ = ep.policy;
  verified_ = false;
  host_ = ep.mta_name();
  relay_ = endpoint_text(ep);
  last_error_.clear();
  const tcp::endpoint target(ep.address, ep.port);
  asio::error_code ec;
  socket_.open(target.protocol(), ec);
  if (!ec) {
    for (const auto& src : sources)
      if (src.is_v4() == ep.address.is_v4()) {
        socket_.bind(tcp::endpoint(src, 0), ec);
        break;
      }
  }
  if (ec) {
    fail(Status::Deferred, "4.4.1", "cannot bind/open a socket for " + relay_ + ": " + ec.message());
    co_return false;
  }
  arm(settings_.connect_timeout);
  auto [cec] = co_await socket_.async_connect(target, kUseTuple);
  disarm();
  if (cec) {
    std::string why = timed_out_ ? std::string("timed out") : cec.message();
    fail(Status::Deferred, "4.4.1", "connect to " + relay_ + ": " + why);
    co_return false;
  }
  socket_.set_option(tcp::no_delay(true), ec);
  alive_ = true;
  co_return co_await greet_and_hello(ep, use_tls);
}

asio::awaitable<bool> SmtpClient::greet_and_hello(const Endpoint& ep, bool use_tls) {
  auto greeting = co_await read_reply(settings_.command_timeout);
  if (!greeting) {
    fail(Status::Deferred, "4.4.2", io_error("receiving the initial server greeting"));
    co_return false;
  }
  if (greeting->code != 220) {
    std::string text = greeting->text();
    fail(Status::Deferred, greeting->code >= 500 ? "4.4.0" : "4.4.0", "host " + relay_ + " refused to talk to us: " + text);
    co_return false;
  }
  if (!co_await hello()) co_return false;
  // A receiver's policy that makes TLS mandatory overrides delivery.tls = "none".
  if ((settings_.tls != TlsPolicy::None || policy_requires_tls()) && caps_.starttls && use_tls) {
    if (!co_await start_tls(ep)) co_return false;
  } else if (!policy_allows(TlsOutcome::NotOffered, use_tls ? "" : "in clear after a failed handshake")) {
    co_return false;
  } else if (settings_.tls == TlsPolicy::Required) {
    fail(Status::Deferred, "4.7.4", "TLS is required, but was not offered by host " + relay_);
    co_return false;
  }
  if (!settings_.auth_user.empty() && !co_await authenticate()) co_return false;
  co_return true;
}

asio::awaitable<bool> SmtpClient::hello() {
  const std::string ehlo = ehlo_command(settings_.helo_name);
  auto r = co_await command(ehlo, settings_.command_timeout);
  if (!r) {
    fail(Status::Deferred, "4.4.2", io_error("sending EHLO"));
    co_return false;
  }
  if (r->code == 250) {
    caps_ = parse_ehlo_reply(*r);
    co_return true;
  }
  if (r->code == 421) {
    fail(Status::Deferred, "4.4.0", "host " + relay_ + " said: " + r->text());
    co_return false;
  }
  // RFC 5321 3.2: a server that does not know EHLO gets HELO.
  const std::string helo = helo_command(settings_.helo_name);
  auto h = co_await command(helo, settings_.command_timeout);
  if (!h) {
    fail(Status::Deferred, "4.4.2", io_error("sending HELO"));
    co_return false;
  }
  if (h->code != 250) {
    fail(Status::Deferred, "4.4.0", "host " + relay_ + " refused HELO: " + h->text());
    co_return false;
  }
  caps_ = ServerCapabilities{};
  co_return true;
}

asio::awaitable<bool> SmtpClient::start_tls(const Endpoint& ep) {
  auto r = co_await command(kStartTlsCommand, settings_.command_timeout);
  if (!r) {
    fail(Status::Deferred, "4.4.2", io_error("sending STARTTLS"));
    co_return false;
  }
  if (r->code != 220) {
    const std::string refusal = "STARTTLS refused: " + r->text();
    if (!policy_allows(TlsOutcome::NotOffered, refusal)) co_return false;
    if (settings_.tls == TlsPolicy::Required) {
      fail(Status::Deferred, "4.7.4", "TLS is required, but host " + relay_ + " refused STARTTLS: " + r->text());
      co_return false;
    }
    co_return true;  // opportunistic: carry on in clear
  }
  if (!in_.empty()) {
    // Bytes after the 220 before the handshake: a server injecting
    // cleartext into the TLS session (CVE-2011-0411 in reverse). Refuse.
    fail(Status::Deferred, "4.7.0", "host " + relay_ + " sent data after its STARTTLS reply");
    co_return false;
  }
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *settings_.tls_context);
  if (!ep.host.empty()) SSL_set_tlsext_host_name(tls_->native_handle(), ep.host.c_str());
  if (!expect_peer(ep)) co_return false;
  arm(settings_.command_timeout);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, kUseTuple);
  disarm();
  if (ec) {
    std::string why = timed_out_ ? std::string("timed out") : ec.message();
    tls_failed_ = true;
    if (!policy_allows(TlsOutcome::HandshakeFailed, why)) co_return false;
    fail(Status::Deferred, "4.7.5", "TLS handshake with " + relay_ + " failed: " + why);
    co_return false;
  }
  SSL* ssl = tls_->native_handle();
  tls_name_ = SSL_get_version(ssl);
  tls_name_ += " ";
  tls_name_ += SSL_get_cipher_name(ssl);
  // The context verifies without failing the handshake (verify_none: with
  // no policy an unverified peer still gets the mail, encrypted); the
  // policy judges the result here.
  const long verify = SSL_get_verify_result(ssl);
  verified_ = verify == X509_V_OK && SSL_get0_peer_certificate(ssl) != nullptr;
  if (!policy_allows(verified_ ? TlsOutcome::Verified : TlsOutcome::Unverified,
                     verified_ ? "" : X509_verify_cert_error_string(verify)))
    co_return false;
  reader_ = ReplyReader();
  // RFC 3207 4.2: forget what we knew, ask again.
  co_return co_await hello();
}

bool SmtpClient::expect_peer(const Endpoint& ep) {
  SSL* ssl = tls_->native_handle();
  if (ep.host.empty()) return true;  // an address: no name to check (never policy-bound)
  bool ok = true;
  if (policy_ && policy_->kind == PolicyKind::Dane && !policy_->tlsa.empty()) {
    // RFC 7672 3.2: DANE-EE(3) ignores names and dates; DANE-TA(2) chains
    // to the published trust anchor and checks the MX host name.
    ok = SSL_dane_enable(ssl, ep.host.c_str()) > 0;
    SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);  // OpenSSL checks names for DANE-EE unless told not to
    size_t added = 0;
    for (const auto& r : policy_->tlsa)
      if (SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.mtype, reinterpret_cast<const unsigned char*>(r.data.data()),
                            r.data.size()) > 0)
        ++added;
    ok = ok && added > 0;
  } else {
    // RFC 8461 4.2 (and "verified" in the log otherwise): a chain to a
    // trusted CA and the MX host name, a wildcard only as the leftmost label.
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = SSL_set1_host(ssl, ep.host.c_str()) == 1;
  }
  if (!ok) return policy_allows(TlsOutcome::Unverified, "cannot set up certificate checks");
  return true;
}

asio::awaitable<bool> SmtpClient::authenticate() {
  if (!tls_ && settings_.tls != TlsPolicy::None) {
    fail(Status::Deferred, "4.7.4", "not sending the smarthost password in clear to " + relay_);
    co_return false;
  }
  bool plain = false, login = false;
  for (const auto& m : caps_.auth) {
    plain = plain || m == "PLAIN";
    login = login || m == "LOGIN";
  }
  if (!plain && !login) {
    fail(Status::Deferred, "4.7.0", "host " + relay_ + " offers no AUTH PLAIN or LOGIN");
    co_return false;
  }
  std::optional<ServerReply> r;
  if (plain) {
    const std::string cmd = auth_plain_command(settings_.auth_user, settings_.auth_password);
    r = co_await command(cmd, settings_.command_timeout);
  } else {
    r = co_await command(kAuthLoginCommand, settings_.command_timeout);
    if (r && r->code == 334) {
      const std::string user = sasl_response(settings_.auth_user);
      r = co_await command(user, settings_.command_timeout);
    }
    if (r && r->code == 334) {
      const std::string pass = sasl_response(settings_.auth_password);
      r = co_await command(pass, settings_.command_timeout);
    }
  }
  if (!r) {
    fail(Status::Deferred, "4.4.2", io_error("authenticating"));
    co_return false;
  }
  if (r->code != 235) {
    fail(Status::Deferred, "4.7.0", "authentication to " + relay_ + " failed: " + r->text());
    co_return false;
  }
  co_return true;
}

bool SmtpClient::idle_connection_usable() {
  if (!in_.empty()) return false;  // bytes nobody asked for
  char c;
  const ssize_t n = ::recv(socket_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // quiet and open: the normal case
  last_error_ = n == 0 ? "connection closed by server while idle"
                : n > 0 ? "server spoke while idle"
                        : std::string("connection broken while idle: ") + std::strerror(errno);
  return false;
}

asio::awaitable<void> SmtpClient::send(const queue::Message& m, const std::vector<size_t>& rcpts,
                                       std::vector<RcptOutcome>& out) {
  out.assign(rcpts.size(), RcptOutcome{});
  lost_before_reply_ = false;
  found_stale_ = false;
  auto fail_open = [&](const RcptOutcome& o, size_t from) {
    for (size_t k = from; k < out.size(); ++k) out[k] = o;
  };
  if (!alive_) {
    fail_open(failure_, 0);
    co_return;
  }
  const bool reused = transactions_ > 0 || idled_;
  const auto traits = scan_content(m.content);
  const auto verdict = check_content(m.envelope, traits, m.content.size(), caps_);
  if (verdict != ContentVerdict::Send) {
    RcptOutcome o = local_outcome(Status::Bounced, verdict_status(verdict),
                                  std::string("host ") + relay_ + ": " + verdict_reason(verdict), relay_);
    o.remote_mta = host_;
    o.tls = tls_name_;
    stamp(o);
    fail_open(o, 0);
    co_return;
  }
  ++transactions_;
  const std::string mail = mail_from_command(m.envelope, m.content.size(), caps_, traits.eight_bit);
  std::vector<std::string> rcpt_lines;
  rcpt_lines.reserve(rcpts.size());
  for (size_t i : rcpts) rcpt_lines.push_back(rcpt_to_command(m.envelope.recipients[i], caps_));

  auto lost = [&](const char* during) {
    RcptOutcome o = local_outcome(Status::Deferred, "4.4.2", io_error(during), relay_);
    o.remote_mta = host_;
    o.tls = tls_name_;
    stamp(o);
    failure_ = o;
    return o;
  };

  // Until the first reply of this transaction arrives, a failure on a
  // reused connection is the connection's, not the delivery's.
  auto lost_before_reply = [&](const char* during) {
    lost_before_reply_ = reused;
    fail_open(lost(during), 0);
    close();
  };
  if (reused && !idle_connection_usable()) {
    found_stale_ = true;
    lost_before_reply("reusing the connection");
    co_return;
  }
  // With PIPELINING, MAIL, every RCPT and DATA go in one write (RFC 2920).
  const bool pipelined = caps_.pipelining;
  if (pipelined) {
    std::string batch = mail;
    for (const auto& l : rcpt_lines) batch += l;
    batch += kDataCommand;
    if (!co_await write(batch, settings_.command_timeout)) {
      lost_before_reply("sending MAIL FROM");
      co_return;
    }
  } else if (!co_await write(mail, settings_.command_timeout)) {
    lost_before_reply("sending MAIL FROM");
    co_return;
  }
  auto mail_reply = co_await read_reply(settings_.command_timeout);
  if (!mail_reply) {
    lost_before_reply("sending MAIL FROM");
    co_return;
  }
  const bool mail_ok = mail_reply->code == 250;
  size_t accepted = 0;
  for (size_t k = 0; k < rcpts.size(); ++k) {
    if (!mail_ok) {
      out[k] = from_reply(*mail_reply);
      if (!pipelined) continue;
    }
    if (!pipelined && !co_await write(rcpt_lines[k], settings_.command_timeout)) {
      fail_open(lost("sending RCPT TO"), k);
      co_return;
    }
    auto r = co_await read_reply(settings_.command_timeout);
    if (!r) {
      fail_open(lost("sending RCPT TO"), k);
      co_return;
    }
    if (!mail_ok) continue;  // pipelined RCPT after a refused MAIL: reply read, outcome is MAIL's
    out[k] = from_reply(*r);
    if (r->code == 250 || r->code == 251) ++accepted;
  }
  // Everything refused: no DATA (or, pipelined, read DATA's reply and end).
  std::optional<ServerReply> data_reply;
  if (pipelined) {
    data_reply = co_await read_reply(settings_.command_timeout);
    if (!data_reply) {
      if (accepted) fail_open(lost("sending DATA"), 0);
      co_return;
    }
  }
  if (accepted == 0) {
    if (data_reply && data_reply->code == 354) {
      // A server that accepted DATA without recipients: end it empty.
      auto r = co_await command(".\r\n", settings_.data_timeout);
      if (!r) co_return;
    }
    auto r = co_await command(kRsetCommand, settings_.command_timeout);
    if (!r || r->code != 250) close();
    co_return;
  }
  if (!pipelined) {
    data_reply = co_await command(kDataCommand, settings_.command_timeout);
    if (!data_reply) {
      for (size_t k = 0; k < out.size(); ++k)
        if (out[k].status == Status::Sent) out[k] = lost("sending DATA");
      co_return;
    }
  }
  auto reject_accepted = [&](const RcptOutcome& o) {
    for (auto& x : out)
      if (x.status == Status::Sent) x = o;
  };
  if (data_reply->code != 354) {
    reject_accepted(from_reply(*data_reply));
    auto r = co_await command(kRsetCommand, settings_.command_timeout);
    if (!r || r->code != 250) close();
    co_return;
  }
  std::string payload;
  payload.reserve(m.content.size() + m.content.size() / 64 + 8);
  append_data_payload(payload, m.content);
  if (!co_await write(payload, settings_.data_timeout)) {
    reject_accepted(lost("sending message body"));
    close();
    co_return;
  }
  auto final_reply = co_await read_reply(settings_.data_timeout);
  if (!final_reply) {
    reject_accepted(lost("waiting for the reply to the end of data"));
    co_return;
  }
  reject_accepted(from_reply(*final_reply));
  if (final_reply->code == 421) close();
}

asio::awaitable<void> SmtpClient::quit() {
  if (!alive_) co_return;
  auto r = co_await command(kQuitCommand, limits::kQuitTimeout);
  (void)r;
  close();
}

}  // namespace volley::delivery
