// A tiny DNS server for tests: UDP on 127.0.0.1 (a free port), answers from
// a zone held in memory, on its own thread. Enough for MX, A/AAAA, TXT and PTR:
//   - a name with records answers them (NOERROR; none of the asked type: NODATA);
//   - a name never mentioned answers NXDOMAIN;
//   - set_rcode(name, ServFail) answers that rcode with no records;
//   - set_silent(name) never answers (to test timeouts).
// Answers are authoritative, uncompressed except for the owner name, TTL 300.
// No EDNS (an OPT record in a query is ignored): a UDP answer over 512 bytes
// is sent truncated (TC) and the whole answer is served over TCP on the same port.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace volley::testing {

class FakeDnsServer {
 public:
  enum class Rcode : uint8_t { NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5 };
  static constexpr uint16_t kTypeA = 1, kTypePtr = 12, kTypeMx = 15, kTypeTxt = 16, kTypeAaaa = 28, kTypeTlsa = 52;

  // Binds 127.0.0.1:0 and starts serving; throws std::runtime_error if it
  // cannot (a broken test machine, not a test outcome).
  FakeDnsServer();
  ~FakeDnsServer();  // stop()
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>", for DnsResolver and delivery.resolver

  // The zone; may change while serving. Names are case-insensitive, written
  // without the trailing dot. IP addresses that do not parse throw.
  void add_mx(const std::string& name, uint16_t preference, const std::string& host);  // host "" or ".": null MX
  void add_a(const std::string& name, const std::string& ipv4);
  void add_aaaa(const std::string& name, const std::string& ipv6);
  // One TXT record made of `strings` (each at most 255 bytes).
  void add_txt(const std::string& name, const std::vector<std::string>& strings);
  void add_ptr(const std::string& name, const std::string& host);
  void add_tlsa(const std::string& name, uint8_t usage, uint8_t selector, uint8_t mtype, const std::string& data);
  void add_name(const std::string& name);  // exists, no records: every type gets NODATA
  // Answers about `name` carry AD (as a validating resolver's would) when
  // the query asked for it with AD (RFC 6840 5.7).
  void set_secure(const std::string& name);
  // Queries that had the AD bit set.
  size_t ad_queries() const;
  void set_rcode(const std::string& name, Rcode rcode);
  void set_silent(const std::string& name);

  // Queries received (answered or not) for `name` and `type`, and in all.
  size_t query_count(const std::string& name, uint16_t type) const;
  size_t total_queries() const;

  void stop();  // idempotent; joins the thread

 private:
  struct Mx {
    uint16_t preference;
    std::string host;
  };
  struct Entry {
    std::vector<Mx> mx;
    std::vector<std::string> a;     // 4 raw bytes each
    std::vector<std::string> aaaa;  // 16 raw bytes each
    std::vector<std::string> txt;   // rdata (length-prefixed strings) each
    std::vector<std::string> ptr;   // host names
    std::vector<std::string> tlsa;  // rdata each
    bool secure = false;
    bool has_rcode = false;
    Rcode rcode = Rcode::NoError;
    bool silent = false;
  };

  void serve();
  // The response to one datagram; false = send nothing.
  bool respond(const std::string& query, std::string& response);

  void serve_tcp_client(size_t index);

  int socket_ = -1;
  int tcp_listen_ = -1;
  std::vector<int> tcp_clients_;  // serve() thread only
  int wake_[2] = {-1, -1};  // stop() writes to wake_[1] to end the poll
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  mutable std::mutex mutex_;
  std::map<std::string, Entry> zone_;
  std::map<std::pair<std::string, uint16_t>, size_t> queries_;
  size_t ad_queries_ = 0;
  size_t total_queries_ = 0;
};

}  // namespace volley::testing
