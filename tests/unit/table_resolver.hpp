// A delivery::Resolver answered from tables, on an io_context (the
// Router's pattern): unit tests of SPF, sender authentication and `volley
// doctor` run without a DNS server. Each answer is posted to the io_context
// (never inside the call, as the interface requires). A name not in a table
// is NXDOMAIN; a name in `silent` is never answered (its callback kept, as if
// the lookup were in flight).
#pragma once

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "delivery/resolver.hpp"

namespace volley::test {

class TableResolver final : public delivery::Resolver {
 public:
  explicit TableResolver(asio::io_context& io) : io_(io) {}
  std::map<std::string, delivery::MxAnswer> mx;
  std::map<std::string, delivery::AddressAnswer> addresses;
  std::map<std::string, delivery::TxtAnswer> txt;
  std::map<std::string, delivery::PtrAnswer> ptr;
  std::map<std::string, delivery::TlsaAnswer> tlsa;
  std::set<std::string> silent;    // never answered (callbacks kept, as if in flight)
  std::vector<std::string> asked;  // "TXT name", in order

  void query_mx(const std::string& name, std::function<void(delivery::MxAnswer)> done) override {
    answer("MX", name, mx, std::move(done));
  }
  void query_addresses(const std::string& name, std::function<void(delivery::AddressAnswer)> done) override {
    answer("A", name, addresses, std::move(done));
  }
  void query_txt(const std::string& name, std::function<void(delivery::TxtAnswer)> done) override {
    answer("TXT", name, txt, std::move(done));
  }
  void query_ptr(const std::string& name, std::function<void(delivery::PtrAnswer)> done) override {
    answer("PTR", name, ptr, std::move(done));
  }
  void query_tlsa(const std::string& name, std::function<void(delivery::TlsaAnswer)> done) override {
    answer("TLSA", name, tlsa, std::move(done));
  }

 private:
  template <class Answer>
  void answer(const char* type, const std::string& name, const std::map<std::string, Answer>& table,
              std::function<void(Answer)> done) {
    asked.push_back(std::string(type) + " " + name);
    if (silent.count(name)) {
      held_.push_back(std::make_shared<std::function<void(Answer)>>(std::move(done)));
      return;
    }
    Answer a;
    if (auto it = table.find(name); it != table.end()) a = it->second;
    else a.status = delivery::DnsStatus::NxDomain;
    asio::post(io_, [done = std::move(done), a] { done(a); });
  }

  asio::io_context& io_;
  std::vector<std::shared_ptr<void>> held_;
};

// An Ok answer with these addresses / TXT records.
inline delivery::AddressAnswer ips(std::vector<std::string> list) {
  delivery::AddressAnswer a;
  a.status = delivery::DnsStatus::Ok;
  for (auto& s : list) a.addresses.push_back(asio::ip::make_address(s));
  return a;
}
inline delivery::TxtAnswer txt(std::vector<std::string> records) {
  return {delivery::DnsStatus::Ok, std::move(records), ""};
}

}  // namespace volley::test
