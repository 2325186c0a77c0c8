// See fake_dns_server.hpp. Messages are built by hand (RFC 1035 4.1).
#include "fake_dns_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace volley::testing {
namespace {

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

uint16_t get16(const std::string& s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

// "mx1.example.test" -> 3mx1 7example 4test 0; "" -> 0 (the root).
std::string encode_name(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<char>(dot - start));
    out.append(name, start, dot - start);
    start = dot + 1;
  }
  out.push_back('\0');
  return out;
}

// One answer record owned by the question's name (compression pointer to offset 12).
void put_record(std::string& out, uint16_t type, const std::string& rdata) {
  put16(out, 0xc00c);
  put16(out, type);
  put16(out, 1);  // IN
  put32(out, 300);
  put16(out, static_cast<uint16_t>(rdata.size()));
  out += rdata;
}

std::string parse_ip(int family, const std::string& text) {
  unsigned char buf[16];
  if (inet_pton(family, text.c_str(), buf) != 1) throw std::runtime_error("fake DNS: bad address " + text);
  return std::string(reinterpret_cast<char*>(buf), family == AF_INET ? 4 : 16);
}

}  // namespace

FakeDnsServer::FakeDnsServer() {
  socket_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (socket_ < 0 || ::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("fake DNS: socket/pipe failed");
  // Tests send bursts of hundreds of queries; the default receive buffer
  // (~200 KB, ~270 small datagrams) would drop some and make them wait for
  // the client's retry.
  const int rcvbuf = 1 << 20;
  ::setsockopt(socket_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(socket_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(socket_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("fake DNS: bind failed");
  port_ = ntohs(addr.sin_port);
  tcp_listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (tcp_listen_ < 0 || ::bind(tcp_listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(tcp_listen_, 16) != 0)
    throw std::runtime_error("fake DNS: TCP bind failed");
  thread_ = std::thread([this] { serve(); });
}

FakeDnsServer::~FakeDnsServer() { stop(); }

void FakeDnsServer::stop() {
  if (stopped_.exchange(true)) return;
  const char byte = 0;
  if (::write(wake_[1], &byte, 1) < 0) {
    // The thread then sees stopped_ at its next datagram or never; nothing better to do.
  }
  if (thread_.joinable()) thread_.join();
  for (int fd : tcp_clients_) ::close(fd);
  tcp_clients_.clear();
  for (int fd : {socket_, tcp_listen_, wake_[0], wake_[1]})
    if (fd >= 0) ::close(fd);
  socket_ = tcp_listen_ = wake_[0] = wake_[1] = -1;
}

std::string FakeDnsServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

void FakeDnsServer::add_mx(const std::string& name, uint16_t preference, const std::string& host) {
  std::lock_guard lock(mutex_);
  zone_[lower(name)].mx.push_back({preference, host == "." ? "" : host});
}
void FakeDnsServer::add_a(const std::string& name, const std::string& ipv4) {
  std::string raw = parse_ip(AF_INET, ipv4);
  std::lock_guard lock(mutex_);
  zone_[lower(name)].a.push_back(std::move(raw));
}
void FakeDnsServer::add_aaaa(const std::string& name, const std::string& ipv6) {
  std::string raw = parse_ip(AF_INET6, ipv6);
  std::lock_guard lock(mutex_);
  zone_[lower(name)].aaaa.push_back(std::move(raw));
}
void FakeDnsServer::add_txt(const std::string& name, const std::vector<std::string>& strings) {
  std::string rdata;
  for (const auto& str : strings) {
    if (str.size() > 255) throw std::runtime_error("fake DNS: TXT string over 255 bytes");
    rdata.push_back(static_cast<char>(str.size()));
    rdata += str;
  }
  std::lock_guard lock(mutex_);
  zone_[lower(name)].txt.push_back(std::move(rdata));
}
void FakeDnsServer::add_tlsa(const std::string& name, uint8_t usage, uint8_t selector, uint8_t mtype,
                             const std::string& data) {
  std::string rdata{static_cast<char>(usage), static_cast<char>(selector), static_cast<char>(mtype)};
  rdata += data;
  std::lock_guard lock(mutex_);
  zone_[lower(name)].tlsa.push_back(std::move(rdata));
}
void FakeDnsServer::set_secure(const std::string& name) {
  std::lock_guard lock(mutex_);
  zone_[lower(name)].secure = true;
}
size_t FakeDnsServer::ad_queries() const {
  std::lock_guard lock(mutex_);
  return ad_queries_;
}
void FakeDnsServer::add_ptr(const std::string& name, const std::string& host) {
  std::lock_guard lock(mutex_);
  zone_[lower(name)].ptr.push_back(lower(host));
}
void FakeDnsServer::add_name(const std::string& name) {
  std::lock_guard lock(mutex_);
  zone_[lower(name)];
}
void FakeDnsServer::set_rcode(const std::string& name, Rcode rcode) {
  std::lock_guard lock(mutex_);
  Entry& e = zone_[lower(name)];
  e.has_rcode = true;
  e.rcode = rcode;
}
void FakeDnsServer::set_silent(const std::string& name) {
  std::lock_guard lock(mutex_);
  zone_[lower(name)].silent = true;
}

size_t FakeDnsServer::query_count(const std::string& name, uint16_t type) const {
  std::lock_guard lock(mutex_);
  auto it = queries_.find({lower(name), type});
  return it == queries_.end() ? 0 : it->second;
}
size_t FakeDnsServer::total_queries() const {
  std::lock_guard lock(mutex_);
  return total_queries_;
}

void FakeDnsServer::serve() {
  std::string query(512, '\0'), response;
  while (!stopped_) {
    std::vector<pollfd> fds = {{socket_, POLLIN, 0}, {wake_[0], POLLIN, 0}, {tcp_listen_, POLLIN, 0}};
    for (int fd : tcp_clients_) fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
    if (fds[1].revents) break;
    if (fds[2].revents) {
      const int client = ::accept4(tcp_listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) tcp_clients_.push_back(client);
    }
    for (size_t i = fds.size(); i-- > 3;)
      if (fds[i].revents) serve_tcp_client(i - 3);
    if (!fds[0].revents) continue;
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    query.resize(512);
    const ssize_t n = ::recvfrom(socket_, query.data(), query.size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n <= 0) continue;
    query.resize(static_cast<size_t>(n));
    if (!respond(query, response)) continue;
    if (response.size() > 512) {  // header and question only, TC set: the client asks again over TCP
      // The query is a header and one question (no EDNS record), as the answer starts.
      response.resize(std::min(response.size(), query.size()));
      response[2] = static_cast<char>(response[2] | 0x02);
      response[6] = response[7] = 0;  // no answers
    }
    ::sendto(socket_, response.data(), response.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }
}

// One length-prefixed query from a TCP client (loopback: it arrives whole),
// answered the same way; the connection stays open for more.
void FakeDnsServer::serve_tcp_client(size_t index) {
  const int fd = tcp_clients_[index];
  unsigned char prefix[2];
  std::string query, response;
  bool ok = ::recv(fd, prefix, 2, MSG_WAITALL) == 2;
  if (ok) {
    query.resize((static_cast<size_t>(prefix[0]) << 8) | prefix[1]);
    ok = !query.empty() && ::recv(fd, query.data(), query.size(), MSG_WAITALL) == static_cast<ssize_t>(query.size());
  }
  if (ok && respond(query, response)) {
    std::string framed;
    put16(framed, static_cast<uint16_t>(response.size()));
    framed += response;
    ok = ::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(framed.size());
  }
  if (!ok) {
    ::close(fd);
    tcp_clients_.erase(tcp_clients_.begin() + static_cast<std::ptrdiff_t>(index));
  }
}

bool FakeDnsServer::respond(const std::string& query, std::string& response) {
  // Header (12) + at least a root name (1) + type and class (4); a query, one question.
  if (query.size() < 17 || (query[2] & 0x80) || get16(query, 4) != 1) return false;
  std::string name;
  size_t at = 12;
  while (true) {
    if (at >= query.size()) return false;
    const auto len = static_cast<uint8_t>(query[at++]);
    if (len == 0) break;
    if (len > 63 || at + len > query.size() || name.size() + len > 254) return false;  // no pointers in a question
    if (!name.empty()) name.push_back('.');
    name.append(query, at, len);
    at += len;
  }
  if (at + 4 > query.size()) return false;
  const uint16_t type = get16(query, at);
  const size_t question_end = at + 4;
  name = lower(name);

  std::lock_guard lock(mutex_);
  ++total_queries_;
  ++queries_[{name, type}];
  const bool asked_ad = (query[3] & 0x20) != 0;
  if (asked_ad) ++ad_queries_;
  auto it = zone_.find(name);
  if (it != zone_.end() && it->second.silent) return false;

  Rcode rcode = Rcode::NoError;
  std::string answers;
  uint16_t count = 0;
  if (it == zone_.end()) {
    rcode = Rcode::NxDomain;
  } else if (it->second.has_rcode) {
    rcode = it->second.rcode;
  } else if (type == kTypeMx) {
    for (const auto& mx : it->second.mx) {
      std::string rdata;
      put16(rdata, mx.preference);
      rdata += encode_name(lower(mx.host));
      put_record(answers, kTypeMx, rdata);
      ++count;
    }
  } else if (type == kTypeTxt) {
    for (const auto& rdata : it->second.txt) {
      put_record(answers, kTypeTxt, rdata);
      ++count;
    }
  } else if (type == kTypeTlsa) {
    for (const auto& rdata : it->second.tlsa) {
      put_record(answers, kTypeTlsa, rdata);
      ++count;
    }
  } else if (type == kTypePtr) {
    for (const auto& host : it->second.ptr) {
      put_record(answers, kTypePtr, encode_name(host));
      ++count;
    }
  } else if (type == kTypeA || type == kTypeAaaa) {
    for (const auto& raw : type == kTypeA ? it->second.a : it->second.aaaa) {
      put_record(answers, type, raw);
      ++count;
    }
  }

  response.clear();
  response.append(query, 0, 2);  // id
  // QR, the query's opcode and RD, AA, RA, rcode.
  const auto opcode_rd = static_cast<uint8_t>(query[2] & 0x79);
  response.push_back(static_cast<char>(0x80 | opcode_rd | 0x04));
  const bool ad = asked_ad && it != zone_.end() && it->second.secure && rcode == Rcode::NoError;
  response.push_back(static_cast<char>(0x80 | (ad ? 0x20 : 0) | static_cast<uint8_t>(rcode)));
  put16(response, 1);
  put16(response, count);
  put16(response, 0);
  put16(response, 0);
  response.append(query, 12, question_end - 12);
  response += answers;
  return true;
}

}  // namespace volley::testing
