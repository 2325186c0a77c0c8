// c-ares driven by Asio. c-ares owns its sockets; it reports each one through
// the socket-state callback, and we watch it with a posix::stream_descriptor
// (async_wait only, released without closing when c-ares is done with it).
// Readiness is handed back with ares_process_fd(); a steady_timer set from
// ares_timeout() lets c-ares retry and time out. Every user callback is
// posted, so user code never runs inside c-ares (where destroying the
// resolver would pull the channel out from under it).
#include "delivery/dns_resolver.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <poll.h>

#include <algorithm>
#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "delivery/dns_wire.hpp"
#include "delivery/limits.hpp"
#include "delivery/route_plan.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::delivery {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Reasons in delivery/limits.hpp (kMinTryTimeout: below it one try gets the
// whole budget, see tries_and_timeout; kSocketReceiveBuffer: see init).
constexpr int kMaxAddressesPerFamily = limits::kMaxAddressesPerFamily;
constexpr int kSocketReceiveBuffer = limits::kDnsSocketReceiveBuffer;
constexpr milliseconds kMinTryTimeout = limits::kMinDnsTryTimeout;

Result<void> init_library_once() {
  static std::once_flag once;
  static int status = ARES_SUCCESS;
  std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (status != ARES_SUCCESS) return make_error(std::string("c-ares init: ") + ares_strerror(status));
  return {};
}

// c-ares waits `timeout` for the first round over the n servers and doubles
// it for each further round, so `tries` rounds take at most
// n * timeout * (2^tries - 1). Pick the most tries (3, 2, 1) whose per-try
// timeout stays >= kMinTryTimeout, so that the whole lookup fits the budget.
struct TryPlan {
  int tries = 1;
  int timeout_ms = 1;
};
TryPlan tries_and_timeout(milliseconds budget, int servers) {
  const int64_t total = std::max<int64_t>(budget.count(), 1);
  const int64_t n = std::max(servers, 1);
  for (int tries = 3; tries >= 1; --tries) {
    const int64_t per_try = total / (n * ((int64_t{1} << tries) - 1));
    if (per_try >= kMinTryTimeout.count() || tries == 1)
      return {tries, static_cast<int>(std::clamp<int64_t>(per_try, 1, 3'600'000))};
  }
  return {};
}

int count_servers(ares_channel channel) {
  ares_addr_port_node* servers = nullptr;
  if (ares_get_servers_ports(channel, &servers) != ARES_SUCCESS) return 1;
  int n = 0;
  for (auto* s = servers; s; s = s->next) ++n;
  ares_free_data(servers);
  return std::max(n, 1);
}

DnsStatus status_of(int code) {
  switch (code) {
    case ARES_SUCCESS: return DnsStatus::Ok;
    case ARES_ENOTFOUND: return DnsStatus::NxDomain;
    case ARES_ENODATA: return DnsStatus::NoRecords;
    default: return DnsStatus::TempFail;
  }
}

std::string detail_of(int code) {
  switch (code) {
    case ARES_ENOTFOUND: return "NXDOMAIN";
    case ARES_ENODATA: return "no records of this type";
    case ARES_ESERVFAIL: return "SERVFAIL";
    case ARES_EREFUSED: return "REFUSED";
    case ARES_ETIMEOUT: return "timed out";
    case ARES_ECONNREFUSED: return "no DNS server gave a usable answer (SERVFAIL, REFUSED or unreachable)";
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED: return "cancelled";
    default: return ares_strerror(code);
  }
}

std::string lowercase_name(const char* name) {
  std::string_view s = name ? name : "";
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);  // "." (null MX) becomes ""
  return to_lower(s);
}

// The answer for a c-ares failure code.
template <class Answer>
Answer failed(int code) {
  Answer answer;
  answer.status = status_of(code);
  answer.detail = detail_of(code);
  return answer;
}

// What ares_query would have made of a response to ares_send: the RCODE as
// a c-ares status (NOERROR without answers is ENODATA).
int rcode_status(const unsigned char* buf, int len, ResponseHeader& h) {
  if (!buf || len < 0 || !parse_response_header({reinterpret_cast<const char*>(buf), static_cast<size_t>(len)}, h))
    return ARES_EBADRESP;
  switch (h.rcode) {
    case 0: return h.answers ? ARES_SUCCESS : ARES_ENODATA;
    case 1: return ARES_EFORMERR;
    case 2: return ARES_ESERVFAIL;
    case 3: return ARES_ENOTFOUND;
    case 4: return ARES_ENOTIMP;
    case 5: return ARES_EREFUSED;
    default: return ARES_EBADRESP;
  }
}

TlsaAnswer parse_tlsa(const unsigned char* buf, int len) {
  return parse_tlsa_response({reinterpret_cast<const char*>(buf), static_cast<size_t>(std::max(len, 0))});
}

MxAnswer parse_mx(const unsigned char* buf, int len) {
  MxAnswer answer;
  ares_mx_reply* replies = nullptr;
  const int rc = ares_parse_mx_reply(buf, len, &replies);
  if (rc != ARES_SUCCESS) return failed<MxAnswer>(rc);
  for (auto* r = replies; r; r = r->next) answer.records.push_back({r->priority, lowercase_name(r->host)});
  ares_free_data(replies);
  answer.status = answer.records.empty() ? DnsStatus::NoRecords : DnsStatus::Ok;
  return answer;
}

TxtAnswer parse_txt(const unsigned char* buf, int len) {
  TxtAnswer answer;
  ares_txt_ext* chunks = nullptr;
  const int rc = ares_parse_txt_reply_ext(buf, len, &chunks);
  if (rc != ARES_SUCCESS) return failed<TxtAnswer>(rc);
  size_t bytes = 0;
  bool too_large = false;
  for (auto* c = chunks; c && !too_large; c = c->next) {
    // Each record's first string has record_start set; the rest continue it.
    if (c->record_start || answer.records.empty()) {
      if (answer.records.size() == limits::kMaxTxtRecords) too_large = true;
      else answer.records.emplace_back();
    }
    bytes += c->length;
    if (bytes > limits::kMaxTxtBytes) too_large = true;
    if (!too_large) answer.records.back().append(reinterpret_cast<const char*>(c->txt), c->length);
  }
  ares_free_data(chunks);
  if (too_large) {
    answer.records.clear();
    answer.status = DnsStatus::TempFail;
    answer.detail = "TXT answer too large";
    return answer;
  }
  answer.status = answer.records.empty() ? DnsStatus::NoRecords : DnsStatus::Ok;
  return answer;
}

PtrAnswer parse_ptr(const unsigned char* buf, int len) {
  PtrAnswer answer;
  hostent* host = nullptr;
  // The address arguments only fill h_addr_list; the names are what we want.
  const unsigned char none[4] = {};
  const int rc = ares_parse_ptr_reply(buf, len, none, sizeof none, AF_INET, &host);
  if (rc != ARES_SUCCESS) return failed<PtrAnswer>(rc);
  // c-ares lists every PTR name among the aliases (and the last also as h_name).
  for (char** a = host->h_aliases; a && *a && answer.names.size() < limits::kMaxPtrNames; ++a)
    answer.names.push_back(lowercase_name(*a));
  if (answer.names.empty() && host->h_name) answer.names.push_back(lowercase_name(host->h_name));
  ares_free_hostent(host);
  answer.status = answer.names.empty() ? DnsStatus::NoRecords : DnsStatus::Ok;
  return answer;
}

// One family's half of an address lookup.
struct FamilyAnswer {
  int code = ARES_ETIMEOUT;
  std::vector<asio::ip::address> addresses;
  bool ad = false;  // the resolver validated it (DNSSEC)
};

FamilyAnswer parse_a(const unsigned char* buf, int len) {
  FamilyAnswer out;
  ares_addrttl rows[kMaxAddressesPerFamily];
  int n = kMaxAddressesPerFamily;
  out.code = ares_parse_a_reply(buf, len, nullptr, rows, &n);
  if (out.code != ARES_SUCCESS) return out;
  for (int i = 0; i < n; ++i) out.addresses.emplace_back(asio::ip::address_v4(ntohl(rows[i].ipaddr.s_addr)));
  if (out.addresses.empty()) out.code = ARES_ENODATA;
  return out;
}

FamilyAnswer parse_aaaa(const unsigned char* buf, int len) {
  FamilyAnswer out;
  ares_addr6ttl rows[kMaxAddressesPerFamily];
  int n = kMaxAddressesPerFamily;
  out.code = ares_parse_aaaa_reply(buf, len, nullptr, rows, &n);
  if (out.code != ARES_SUCCESS) return out;
  for (int i = 0; i < n; ++i) {
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &rows[i].ip6addr, bytes.size());
    out.addresses.emplace_back(asio::ip::address_v6(bytes));
  }
  if (out.addresses.empty()) out.code = ARES_ENODATA;
  return out;
}

// A and AAAA combined (see query_addresses in the header).
AddressAnswer combine(const FamilyAnswer& v4, const FamilyAnswer& v6) {
  AddressAnswer answer;
  answer.addresses = v4.addresses;
  answer.addresses.insert(answer.addresses.end(), v6.addresses.begin(), v6.addresses.end());
  auto part = [](const char* type, const FamilyAnswer& f) {
    return std::string(type) + ": " + (f.code == ARES_SUCCESS ? std::to_string(f.addresses.size()) : detail_of(f.code));
  };
  answer.detail = part("A", v4) + ", " + part("AAAA", v6);
  const DnsStatus s4 = status_of(v4.code), s6 = status_of(v6.code);
  answer.v4_status = s4;
  answer.v6_status = s6;
  // Secure when every family that gave addresses was validated (RFC 7672 2.2.2).
  answer.secure = !answer.addresses.empty() && (v4.addresses.empty() || v4.ad) && (v6.addresses.empty() || v6.ad);
  if (!answer.addresses.empty())
    answer.status = DnsStatus::Ok;
  else if (s4 == DnsStatus::TempFail || s6 == DnsStatus::TempFail)
    answer.status = DnsStatus::TempFail;
  else if (s4 == DnsStatus::NxDomain || s6 == DnsStatus::NxDomain)
    answer.status = DnsStatus::NxDomain;
  else
    answer.status = DnsStatus::NoRecords;
  return answer;
}

// True if `fd` is ready now. Asio's epoll reactor is edge-triggered and
// async_wait is never speculative: readiness that arrived while no wait was
// pending (c-ares reads a TCP answer with one recv() per call and may leave
// the rest) would otherwise be missed until the next packet or timeout.
bool ready_now(int fd, asio::posix::descriptor_base::wait_type type) {
  pollfd p{fd, static_cast<short>(type == asio::posix::descriptor_base::wait_read ? POLLIN : POLLOUT), 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

class DnsResolver::Impl : public std::enable_shared_from_this<Impl> {
 public:
  explicit Impl(asio::io_context& io) : io_(io), timer_(io) {}
  ~Impl() { shutdown(); }

  Result<void> init(const std::string& server, milliseconds timeout);
  void shutdown();
  void query_mx(const std::string& domain, std::function<void(MxAnswer)> done) {
    query_simple<MxAnswer, parse_mx>(domain, ns_t_mx, std::move(done));
  }
  void query_addresses(const std::string& host, std::function<void(AddressAnswer)> done);
  void query_txt(const std::string& name, std::function<void(TxtAnswer)> done) {
    query_simple<TxtAnswer, parse_txt>(name, ns_t_txt, std::move(done));
  }
  void query_ptr(const std::string& name, std::function<void(PtrAnswer)> done) {
    query_simple<PtrAnswer, parse_ptr>(name, ns_t_ptr, std::move(done));
  }
  void query_tlsa(const std::string& name, std::function<void(TlsaAnswer)> done) {
    query_simple<TlsaAnswer, parse_tlsa, true>(name, kDnsTypeTlsa, std::move(done));
  }
  size_t pending() const { return pending_; }

 private:
  // One socket c-ares has open, as c-ares last described it.
  struct SocketWatch {
    SocketWatch(asio::io_context& io, int fd) : fd(fd), descriptor(io) {}
    int fd;
    asio::posix::stream_descriptor descriptor;  // assigned, never closed by us
    bool want_read = false, want_write = false;
    bool read_waiting = false, write_waiting = false;
    bool closed = false;  // c-ares closed it: handlers still queued must ignore it
  };

  // A lookup of one record type whose answer `Parse` turns into an `Answer`.
  // Sent with ares_send and the AD bit set (RFC 6840 5.7), so a validating
  // resolver says whether the answer is DNSSEC-secure; the RCODE is mapped
  // as ares_query would (Raw: `Parse` reads the RCODE itself).
  template <class Answer, Answer (*Parse)(const unsigned char*, int), bool Raw>
  struct SimpleQuery {
    Impl* impl;
    std::function<void(Answer)> done;
    static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* buf, int len) {
      std::unique_ptr<SimpleQuery> q(static_cast<SimpleQuery*>(arg));
      ResponseHeader h;
      if (status == ARES_SUCCESS && !Raw) status = rcode_status(buf, len, h);
      Answer a = status == ARES_SUCCESS ? Parse(buf, len) : failed<Answer>(status);
      if constexpr (requires { a.secure; })
        if (!Raw) a.secure = status == ARES_SUCCESS && h.ad;
      q->impl->complete(std::move(q->done), std::move(a));
    }
  };
  template <class Answer, Answer (*Parse)(const unsigned char*, int), bool Raw = false>
  void query_simple(const std::string& name, int type, std::function<void(Answer)> done) {
    if (!channel_) return fail_now(std::move(done), "resolver shut down");
    if (pending_ >= kMaxPending) return fail_now(std::move(done), "resolver busy");
    using Query = SimpleQuery<Answer, Parse, Raw>;
    // Counted and complete before sending: c-ares may answer (an error)
    // inside ares_send itself.
    ++pending_;
    auto* q = new Query{this, std::move(done)};
    if (!send_with_ad(name, type, &Query::on_answer, q)) {
      std::unique_ptr<Query> owned(q);
      --pending_;
      return fail_now(std::move(owned->done), "unusable name");
    }
    reschedule_timer();
  }

  // Sends a query for `name`/`type` with the AD bit set (RFC 6840 5.7: a
  // validating resolver then says whether the answer is secure). False when
  // no query can be made of the name.
  bool send_with_ad(const std::string& name, int type, ares_callback cb, void* arg) {
    unsigned char* qbuf = nullptr;
    int qlen = 0;
    if (ares_create_query(name.c_str(), ns_c_in, type, 0, 1, &qbuf, &qlen, 0) != ARES_SUCCESS || qlen < 12) {
      if (qbuf) ares_free_string(qbuf);
      return false;
    }
    qbuf[3] |= 0x20;
    ares_send(channel_, qbuf, qlen, cb, arg);
    ares_free_string(qbuf);
    return true;
  }

  struct AddressQuery {
    Impl* impl;
    std::function<void(AddressAnswer)> done;
    int outstanding = 2;
    FamilyAnswer v4, v6;
  };

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
  static void on_a(void* arg, int status, int timeouts, unsigned char* buf, int len);
  static void on_aaaa(void* arg, int status, int timeouts, unsigned char* buf, int len);
  static void on_address_half(AddressQuery* q, bool v4, int status, const unsigned char* buf, int len);

  // Posts `done(answer)` and counts the lookup as finished.
  template <class Answer>
  void complete(std::function<void(Answer)> done, Answer answer) {
    --pending_;
    asio::post(io_, [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }
  template <class Answer>
  void fail_now(std::function<void(Answer)> done, std::string detail) {
    Answer answer;
    answer.detail = std::move(detail);
    asio::post(io_, [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }

  void socket_state(int fd, bool readable, bool writable);
  void arm(const std::shared_ptr<SocketWatch>& w);
  void start_wait(const std::shared_ptr<SocketWatch>& w, asio::posix::descriptor_base::wait_type type);
  void on_ready(const std::shared_ptr<SocketWatch>& w, asio::posix::descriptor_base::wait_type type);
  void reschedule_timer();
  void on_timer();

  asio::io_context& io_;
  ares_channel channel_ = nullptr;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  Clock::time_point timer_due_{};
  uint64_t timer_generation_ = 0;  // a wait whose generation is stale was superseded
  std::unordered_map<int, std::shared_ptr<SocketWatch>> sockets_;
  size_t pending_ = 0;
};

// ---- set-up and tear-down ----

Result<void> DnsResolver::Impl::init(const std::string& server, milliseconds timeout) {
  if (auto lib = init_library_once(); !lib) return lib;

  ares_addr_port_node node{};
  if (!server.empty()) {
    auto hp = parse_host_port(server, 53);
    if (!hp) return make_error("resolver \"" + printable(server) + "\": " + hp.error().message);
    if (inet_pton(AF_INET, hp->host.c_str(), &node.addr.addr4) == 1) {
      node.family = AF_INET;
    } else if (inet_pton(AF_INET6, hp->host.c_str(), &node.addr.addr6) == 1) {
      node.family = AF_INET6;
    } else {
      return make_error("resolver \"" + printable(server) + "\": the host must be an IP address");
    }
    node.udp_port = node.tcp_port = hp->port;
  }

  ares_options opts{};
  int mask = 0;
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  mask |= ARES_OPT_FLAGS;
  char lookups[] = "b";  // DNS only, never /etc/hosts
  opts.lookups = lookups;
  mask |= ARES_OPT_LOOKUPS;
  // All queries share one UDP socket per server. A burst of lookups (a queue
  // full of new domains) brings a burst of answers; the default ~200 KB
  // buffer drops some and they wait for a retry. The kernel caps this at
  // net.core.rmem_max.
  opts.socket_receive_buffer_size = kSocketReceiveBuffer;
  mask |= ARES_OPT_SOCK_RCVBUF;

  // The retry plan depends on how many servers resolv.conf lists.
  int servers = 1;
  if (server.empty()) {
    ares_channel probe = nullptr;
    const int rc = ares_init_options(&probe, &opts, mask);
    if (rc != ARES_SUCCESS) return make_error(std::string("c-ares: ") + ares_strerror(rc));
    servers = count_servers(probe);
    ares_destroy(probe);
  }
  // With several servers, a SERVFAIL or REFUSED from one makes c-ares try
  // the next, and when all fail it reports only "Could not contact DNS
  // servers". With a single server there is nothing to fail over to, so take
  // its answer as it is: the log and the DSN then say SERVFAIL or REFUSED.
  if (servers == 1) opts.flags |= ARES_FLAG_NOCHECKRESP;
  const TryPlan plan = tries_and_timeout(timeout, servers);
  opts.timeout = plan.timeout_ms;
  mask |= ARES_OPT_TIMEOUTMS;
  opts.tries = plan.tries;
  mask |= ARES_OPT_TRIES;
  opts.sock_state_cb = &Impl::on_socket_state;
  opts.sock_state_cb_data = this;
  mask |= ARES_OPT_SOCK_STATE_CB;

  if (const int rc = ares_init_options(&channel_, &opts, mask); rc != ARES_SUCCESS) {
    channel_ = nullptr;
    return make_error(std::string("c-ares: ") + ares_strerror(rc));
  }
  if (!server.empty()) {
    if (const int rc = ares_set_servers_ports(channel_, &node); rc != ARES_SUCCESS)
      return make_error("resolver \"" + printable(server) + "\": " + ares_strerror(rc));
  }
  return {};
}

void DnsResolver::Impl::shutdown() {
  if (!channel_) return;
  // Completes every query in flight with ARES_EDESTRUCTION (posted as
  // TempFail "cancelled") and reports each socket closed.
  ares_destroy(channel_);
  channel_ = nullptr;
  for (auto& [fd, w] : sockets_) {  // in case c-ares closed one without telling us
    w->closed = true;
    w->descriptor.release();
  }
  sockets_.clear();
  ++timer_generation_;
  timer_.cancel();
  timer_armed_ = false;
}

// ---- queries ----

void DnsResolver::Impl::query_addresses(const std::string& host, std::function<void(AddressAnswer)> done) {
  if (!channel_) return fail_now(std::move(done), "resolver shut down");
  if (pending_ >= kMaxPending) return fail_now(std::move(done), "resolver busy");
  ++pending_;
  auto* q = new AddressQuery{this, std::move(done), 2, {}, {}};
  // Deleted by whichever half finishes last (outstanding counts down from 2),
  // even if c-ares completes the first one inside ares_send. A name no query
  // can be made of fails both halves at once.
  if (!send_with_ad(host, ns_t_a, &Impl::on_a, q)) {
    on_address_half(q, true, ARES_EBADNAME, nullptr, 0);
    on_address_half(q, false, ARES_EBADNAME, nullptr, 0);
    return;
  }
  if (!send_with_ad(host, ns_t_aaaa, &Impl::on_aaaa, q)) on_address_half(q, false, ARES_EBADNAME, nullptr, 0);
  reschedule_timer();
}

void DnsResolver::Impl::on_a(void* arg, int status, int, unsigned char* buf, int len) {
  on_address_half(static_cast<AddressQuery*>(arg), true, status, buf, len);
}
void DnsResolver::Impl::on_aaaa(void* arg, int status, int, unsigned char* buf, int len) {
  on_address_half(static_cast<AddressQuery*>(arg), false, status, buf, len);
}

void DnsResolver::Impl::on_address_half(AddressQuery* q, bool v4, int status, const unsigned char* buf, int len) {
  FamilyAnswer& half = v4 ? q->v4 : q->v6;
  ResponseHeader h;
  if (status == ARES_SUCCESS) status = rcode_status(buf, len, h);
  if (status == ARES_SUCCESS) {
    half = v4 ? parse_a(buf, len) : parse_aaaa(buf, len);
    half.ad = h.ad;
  } else {
    half.code = status;
  }
  if (--q->outstanding > 0) return;
  std::unique_ptr<AddressQuery> owned(q);
  q->impl->complete(std::move(q->done), combine(q->v4, q->v6));
}

// ---- sockets ----

void DnsResolver::Impl::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
  static_cast<Impl*>(data)->socket_state(fd, readable != 0, writable != 0);
}

void DnsResolver::Impl::socket_state(int fd, bool readable, bool writable) {
  auto it = sockets_.find(fd);
  if (!readable && !writable) {  // c-ares is about to close it
    if (it == sockets_.end()) return;
    it->second->closed = true;
    it->second->descriptor.release();  // deregisters and aborts our waits; the fd stays c-ares's
    sockets_.erase(it);
    return;
  }
  if (it == sockets_.end()) {
    auto w = std::make_shared<SocketWatch>(io_, fd);
    std::error_code ec;
    w->descriptor.assign(fd, ec);
    if (ec) {
      // Unwatchable: the query on it will time out and report TempFail.
      log::error("dns.socket").kv("fd", fd).kv("error", ec.message());
      return;
    }
    it = sockets_.emplace(fd, std::move(w)).first;
  }
  it->second->want_read = readable;
  it->second->want_write = writable;
  arm(it->second);
}

void DnsResolver::Impl::arm(const std::shared_ptr<SocketWatch>& w) {
  if (w->closed) return;
  if (w->want_read && !w->read_waiting) {
    w->read_waiting = true;
    start_wait(w, asio::posix::descriptor_base::wait_read);
  }
  if (w->want_write && !w->write_waiting) {
    w->write_waiting = true;
    start_wait(w, asio::posix::descriptor_base::wait_write);
  }
}

void DnsResolver::Impl::start_wait(const std::shared_ptr<SocketWatch>& w,
                                   asio::posix::descriptor_base::wait_type type) {
  auto handler = [weak = weak_from_this(), w, type](const std::error_code& ec) {
    (type == asio::posix::descriptor_base::wait_read ? w->read_waiting : w->write_waiting) = false;
    if (w->closed || ec == asio::error::operation_aborted) return;
    if (auto self = weak.lock()) self->on_ready(w, type);
  };
  if (ready_now(w->fd, type))
    asio::post(io_, [handler]() { handler(std::error_code()); });
  else
    w->descriptor.async_wait(type, handler);
}

void DnsResolver::Impl::on_ready(const std::shared_ptr<SocketWatch>& w,
                                 asio::posix::descriptor_base::wait_type type) {
  if (!channel_) return;
  const bool read = type == asio::posix::descriptor_base::wait_read;
  if (read ? !w->want_read : !w->want_write) return;  // c-ares no longer cares
  ares_process_fd(channel_, read ? w->fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : w->fd);
  arm(w);  // no-op if c-ares closed it meanwhile
  reschedule_timer();
}

// ---- timeouts ----

void DnsResolver::Impl::reschedule_timer() {
  if (!channel_) return;
  timeval tv{};
  if (!ares_timeout(channel_, nullptr, &tv)) {
    // Nothing in flight: leave no wait behind, so that an idle resolver
    // keeps no work in the io_context (run() can return).
    if (timer_armed_) {
      ++timer_generation_;
      timer_.cancel();
      timer_armed_ = false;
    }
    return;
  }
  // ares_timeout rounds down to the millisecond; one more avoids waking
  // before c-ares agrees the query is due (and spinning until it is).
  const Clock::time_point due =
      Clock::now() + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec) + milliseconds(1);
  if (timer_armed_ && timer_due_ <= due) return;  // the earlier wake-up reschedules
  timer_armed_ = true;
  timer_due_ = due;
  const uint64_t generation = ++timer_generation_;
  timer_.expires_at(due);
  timer_.async_wait([weak = weak_from_this(), generation](const std::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    auto self = weak.lock();
    if (!self || generation != self->timer_generation_) return;
    self->on_timer();
  });
}

void DnsResolver::Impl::on_timer() {
  timer_armed_ = false;
  if (!channel_) return;
  ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // expire and retry what is due
  reschedule_timer();
}

// ---- DnsResolver ----

Result<std::unique_ptr<DnsResolver>> DnsResolver::create(asio::io_context& io, const std::string& server,
                                                         std::chrono::milliseconds timeout) {
  auto impl = std::make_shared<Impl>(io);
  if (auto r = impl->init(server, timeout); !r) return r.error();
  return std::unique_ptr<DnsResolver>(new DnsResolver(std::move(impl)));
}

DnsResolver::DnsResolver(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
DnsResolver::~DnsResolver() { impl_->shutdown(); }

void DnsResolver::query_mx(const std::string& domain, std::function<void(MxAnswer)> done) {
  impl_->query_mx(domain, std::move(done));
}
void DnsResolver::query_addresses(const std::string& host, std::function<void(AddressAnswer)> done) {
  impl_->query_addresses(host, std::move(done));
}
void DnsResolver::query_txt(const std::string& name, std::function<void(TxtAnswer)> done) {
  impl_->query_txt(name, std::move(done));
}
void DnsResolver::query_ptr(const std::string& reverse_name, std::function<void(PtrAnswer)> done) {
  impl_->query_ptr(reverse_name, std::move(done));
}
void DnsResolver::query_tlsa(const std::string& name, std::function<void(TlsaAnswer)> done) {
  impl_->query_tlsa(name, std::move(done));
}
size_t DnsResolver::pending() const { return impl_->pending(); }

}  // namespace volley::delivery
