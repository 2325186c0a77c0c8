// Admin socket protocol (admin/admin_protocol.hpp) against a fake queue:
// every command, and every way a request can be wrong, answered with valid
// JSON and never an exception. Plus the CLI (app/queue_command.hpp): its
// display helpers, and retry/flush against a fake daemon on a Unix socket.
#include "admin/admin_protocol.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "admin/queue_command.hpp"
#include "queue/queue_id.hpp"
#include "util/strings.hpp"

namespace volley::admin {
namespace {

using nlohmann::json;
using namespace std::string_literals;

class FakeQueue final : public queue::QueueAdmin {
 public:
  std::vector<queue::QueueEntry> list(const queue::ListFilter& f) const override {
    last_filter = f;
    if (throw_on_list) throw std::runtime_error("disk on fire");
    std::vector<queue::QueueEntry> out;
    for (const auto& [id, m] : messages) {
      queue::QueueEntry e;
      e.id = id;
      e.received_at = m.envelope.received_at;
      e.sender = m.envelope.sender;
      e.recipients = static_cast<uint32_t>(m.envelope.recipients.size());
      e.size = m.content.size();
      e.state = "queued";
      for (const auto& r : m.envelope.recipients) {
        std::string d = to_lower(r.address.substr(r.address.rfind('@') + 1));
        if (std::find(e.domains.begin(), e.domains.end(), d) == e.domains.end()) e.domains.push_back(d);
      }
      if (!f.state.empty() && f.state != e.state) continue;
      if (!f.domain.empty() && std::find(e.domains.begin(), e.domains.end(), f.domain) == e.domains.end()) continue;
      out.push_back(e);
      if (f.limit && out.size() >= f.limit) break;
    }
    return out;
  }
  size_t count() const override { return messages.size(); }
  std::optional<queue::Message> show(const std::string& id) const override {
    auto it = messages.find(id);
    if (it == messages.end()) return std::nullopt;
    return it->second;
  }
  Result<void> remove(const std::string& id) override {
    removed.push_back(id);
    if (messages.erase(id) == 0) return make_error("no such message " + id);
    return {};
  }
  // Delivery control: every call is recorded ("retry ID", "retry_all",
  // "flush DOMAIN") so tests can tell what reached the queue, and with what.
  Result<size_t> retry(const std::string& id) override {
    calls.push_back("retry " + id);
    if (!messages.contains(id)) return make_error("no such message " + id);
    return size_t{1};
  }
  Result<size_t> retry_all() override {
    calls.push_back("retry_all");
    if (throw_on_retry) throw std::runtime_error("engine on fire");
    return messages.size();
  }
  Result<size_t> flush(const std::string& domain) override {
    calls.push_back("flush " + domain);
    if (!flush_error.empty()) return make_error(flush_error);
    size_t n = 0;
    for (const auto& [id, m] : messages)
      n += std::any_of(m.envelope.recipients.begin(), m.envelope.recipients.end(), [&](const queue::Recipient& r) {
        return to_lower(r.address.substr(r.address.rfind('@') + 1)) == domain;
      });
    return n;
  }

  std::string add(std::string sender, std::vector<std::string> rcpts, std::string content) {
    queue::Message m;
    m.envelope.id = queue::make_queue_id();
    m.envelope.sender = std::move(sender);
    for (auto& a : rcpts) {
      queue::Recipient r;
      r.address = a;
      r.original = a;
      m.envelope.recipients.push_back(r);
    }
    m.envelope.received_at = 1700000000;
    m.content = std::move(content);
    std::string id = m.envelope.id;
    messages[id] = std::move(m);
    return id;
  }

  std::map<std::string, queue::Message> messages;  // ordered by id = arrival
  std::vector<std::string> removed;
  std::vector<std::string> calls;  // retry/retry_all/flush, in order
  mutable queue::ListFilter last_filter;
  bool throw_on_list = false;
  bool throw_on_retry = false;
  std::string flush_error;  // non-empty: flush() fails with it
};

// Only what QueueAdmin requires: retry/retry_all/flush keep their defaults,
// which is what a spool without a delivery engine answers.
class SpoolOnlyQueue final : public queue::QueueAdmin {
 public:
  std::vector<queue::QueueEntry> list(const queue::ListFilter&) const override { return {}; }
  size_t count() const override { return 0; }
  std::optional<queue::Message> show(const std::string&) const override { return std::nullopt; }
  Result<void> remove(const std::string&) override { return {}; }
};

// Parses an answer; a parse failure (invalid JSON or UTF-8) fails the test.
json answer(std::string_view request, queue::QueueAdmin& q) {
  std::string line = handle_admin_request(request, q);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "an answer is one line";
  json j = json::parse(line, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << line;
  EXPECT_TRUE(j.is_object()) << line;
  EXPECT_EQ(line.rfind("{\"ok\":", 0), 0u) << "\"ok\" comes first: " << line;
  return j;
}

std::string error_of(std::string_view request, queue::QueueAdmin& q) {
  json j = answer(request, q);
  EXPECT_EQ(j.value("ok", true), false) << j.dump();
  return j.value("error", std::string());
}

TEST(AdminProtocol, ListAllAndFiltered) {
  FakeQueue q;
  std::string a = q.add("alice@a.test", {"x@one.test", "y@two.test"}, "Subject: a\r\n\r\nbody\r\n");
  std::string b = q.add("", {"z@two.test"}, "Subject: b\r\n\r\n");
  json j = answer(make_list_request({}), q);
  ASSERT_TRUE(j["ok"].get<bool>());
  ASSERT_EQ(j["messages"].size(), 2u);
  const json& first = j["messages"][0];
  EXPECT_EQ(first["id"], a);
  EXPECT_EQ(first["sender"], "alice@a.test");
  EXPECT_EQ(first["recipients"], 2);
  EXPECT_EQ(first["size"], q.messages[a].content.size());
  EXPECT_EQ(first["state"], "queued");
  EXPECT_EQ(first["received_at"], 1700000000);
  EXPECT_EQ(first["domains"], json::array({"one.test", "two.test"}));
  EXPECT_EQ(j["messages"][1]["sender"], "");

  queue::ListFilter by_domain;
  by_domain.domain = "ONE.test";  // lowercased before it reaches the queue
  j = answer(make_list_request(by_domain), q);
  ASSERT_EQ(j["messages"].size(), 1u);
  EXPECT_EQ(j["messages"][0]["id"], a);
  EXPECT_EQ(q.last_filter.domain, "one.test");

  j = answer(R"({"cmd":"list","state":"deferred"})", q);
  EXPECT_TRUE(j["messages"].empty());
  EXPECT_EQ(q.last_filter.state, "deferred");

  j = answer(R"({"cmd":"list","limit":1})", q);
  ASSERT_EQ(j["messages"].size(), 1u);
  EXPECT_EQ(j["messages"][0]["id"], a);
  EXPECT_EQ(b.size(), 20u);
}

// `volley user ...` pokes the daemon so a new user is served at once (1d).
TEST(AdminProtocol, UsersChanged) {
  FakeQueue q;
  int calls = 0;
  UsersChanged reload = [&]() -> Result<void> {
    ++calls;
    return {};
  };
  EXPECT_EQ(handle_admin_request(make_users_changed_request(), q, nullptr, reload), "{\"ok\":true}");
  EXPECT_EQ(calls, 1);
  UsersChanged failing = []() -> Result<void> { return make_error(ErrorCode::Io, "database is locked"); };
  EXPECT_EQ(handle_admin_request(make_users_changed_request(), q, nullptr, failing),
            "{\"ok\":false,\"error\":\"reloading users failed: database is locked\"}");
  EXPECT_EQ(handle_admin_request(make_users_changed_request(), q), "{\"ok\":false,\"error\":\"this daemon does not serve users\"}");
  EXPECT_NE(handle_admin_request("{\"cmd\":\"users_changed\",\"x\":1}", q, nullptr, reload).find("\"ok\":false"),
            std::string::npos);
  EXPECT_EQ(calls, 1);
}

TEST(AdminProtocol, ListBadFields) {
  FakeQueue q;
  EXPECT_NE(error_of(R"({"cmd":"list","limit":-1})", q).find("limit"), std::string::npos);
  EXPECT_NE(error_of(R"({"cmd":"list","limit":1.5})", q).find("limit"), std::string::npos);
  EXPECT_NE(error_of(R"({"cmd":"list","domain":7})", q).find("domain"), std::string::npos);
  // A misspelt filter must not silently widen the listing.
  EXPECT_NE(error_of(R"({"cmd":"list","domian":"x.test"})", q).find("unknown field"), std::string::npos);
}

TEST(AdminProtocol, Count) {
  FakeQueue q;
  q.add("a@b.test", {"c@d.test"}, "x");
  json j = answer(make_count_request(), q);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["count"], 1);
  EXPECT_NE(error_of(R"({"cmd":"count","id":"x"})", q).find("unknown field"), std::string::npos);
}

TEST(AdminProtocol, ShowEverything) {
  FakeQueue q;
  std::string id = q.add("alice@a.test", {"bob@b.test"},
                         "Received: from x\r\n\tby y\r\nSubject: hi\r\n\r\nbody line\r\nNot-A-Header: z\r\n");
  auto& env = q.messages[id].envelope;
  env.recipients[0].original = "Bob@B.test";
  env.recipients[0].notify = 2 | 4;  // SUCCESS,FAILURE
  env.recipients[0].orcpt_type = "rfc822";
  env.recipients[0].orcpt_address = "bob@b.test";
  env.recipients[0].state = queue::RecipientState::Deferred;
  env.dsn_ret = "HDRS";
  env.dsn_envid = "env-1";
  env.smtputf8 = true;
  env.client_ip = "192.0.2.1";
  env.helo = "client.test";
  env.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
  env.auth_user = "alice@a.test";
  env.listener = "submission";

  json j = answer(make_show_request(id), q);
  ASSERT_EQ(j["ok"], true);
  const json& m = j["message"];
  EXPECT_EQ(m["id"], id);
  EXPECT_EQ(m["size"], q.messages[id].content.size());
  EXPECT_EQ(m["envelope"]["sender"], "alice@a.test");
  EXPECT_EQ(m["envelope"]["dsn_ret"], "HDRS");
  EXPECT_EQ(m["envelope"]["dsn_envid"], "env-1");
  EXPECT_EQ(m["envelope"]["smtputf8"], true);
  EXPECT_EQ(m["envelope"]["eight_bit"], false);
  const json& r = m["envelope"]["recipients"][0];
  EXPECT_EQ(r["address"], "bob@b.test");
  EXPECT_EQ(r["original"], "Bob@B.test");
  EXPECT_EQ(r["state"], "deferred");
  EXPECT_EQ(r["notify"], json::array({"success", "failure"}));
  EXPECT_EQ(r["orcpt"], "rfc822;bob@b.test");
  EXPECT_EQ(m["metadata"]["client_ip"], "192.0.2.1");
  EXPECT_EQ(m["metadata"]["helo"], "client.test");
  EXPECT_EQ(m["metadata"]["tls"], "TLSv1.3 TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(m["metadata"]["auth_user"], "alice@a.test");
  EXPECT_EQ(m["metadata"]["listener"], "submission");
  EXPECT_EQ(m["metadata"]["received_at"], 1700000000);
  // Headers only: up to the empty line, body excluded.
  EXPECT_EQ(m["headers"], "Received: from x\r\n\tby y\r\nSubject: hi\r\n");
  EXPECT_EQ(m["headers_truncated"], false);
}

TEST(AdminProtocol, ShowUnknownAndBadIds) {
  FakeQueue q;
  std::string unknown = queue::make_queue_id();
  EXPECT_EQ(error_of(make_show_request(unknown), q), "no such message " + unknown);
  for (const char* bad : {R"({"cmd":"show","id":"../../etc/passwd"})", R"({"cmd":"show","id":"0123456789abcdefghij"})",
                          R"({"cmd":"show","id":""})", R"({"cmd":"show"})", R"({"cmd":"show","id":12})",
                          R"({"cmd":"delete","id":"AAAA"})", R"({"cmd":"delete","id":null})"}) {
    std::string e = error_of(bad, q);
    EXPECT_TRUE(e.find("id") != std::string::npos) << bad << " -> " << e;
  }
  EXPECT_TRUE(q.removed.empty()) << "an invalid id never reaches the queue";
}

TEST(AdminProtocol, Delete) {
  FakeQueue q;
  std::string id = q.add("a@b.test", {"c@d.test"}, "x");
  json j = answer(make_delete_request(id), q);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["id"], id);
  EXPECT_TRUE(q.messages.empty());
  // Second time: the queue's own error comes back.
  EXPECT_EQ(error_of(make_delete_request(id), q), "no such message " + id);
}

TEST(AdminProtocol, BadJsonAndUnknownCommand) {
  FakeQueue q;
  for (std::string_view bad : {"", "{", "not json", "{\"cmd\":\"list\"", "{\"cmd\":\"list\"} trailing"})
    EXPECT_EQ(error_of(bad, q), "request is not valid JSON") << bad;
  EXPECT_EQ(error_of(std::string_view("{\"cmd\":\"li\0st\"}", 15), q), "request is not valid JSON");
  EXPECT_EQ(error_of("[1,2]", q), "request must be a JSON object");
  EXPECT_EQ(error_of("\"list\"", q), "request must be a JSON object");
  EXPECT_EQ(error_of("{}", q), "missing \"cmd\"");
  EXPECT_EQ(error_of(R"({"cmd":5})", q), "field \"cmd\" must be a string");
  EXPECT_EQ(error_of(R"({"cmd":"purge"})", q), "unknown command \"purge\"");
  EXPECT_EQ(error_of(R"({"cmd":"Retry","all":true})", q), "unknown command \"Retry\"");
  // The echo of a junk command is clipped.
  std::string junk = R"({"cmd":")" + std::string(5000, 'x') + "\"}";
  EXPECT_LT(error_of(junk, q).size(), 100u);
}

TEST(AdminProtocol, OversizeAndDeepRequests) {
  FakeQueue q;
  std::string big = R"({"cmd":"list","domain":")" + std::string(kMaxRequestBytes, 'a') + "\"}";
  EXPECT_NE(error_of(big, q).find("too large"), std::string::npos);
  // Just under the cap is fine.
  std::string fits = R"({"cmd":"list","domain":")" + std::string(kMaxRequestBytes - 100, 'a') + "\"}";
  EXPECT_EQ(answer(fits, q)["ok"], true);
  // Deep nesting inside the cap: parsed and destroyed without recursion trouble.
  std::string deep = std::string(30000, '[') + std::string(30000, ']');
  EXPECT_EQ(error_of(deep, q), "request must be a JSON object");
}

TEST(AdminProtocol, BinaryBytesStayValidJson) {
  FakeQueue q;
  std::string content = "Subject: caf\xe9 \xff\xfe\r\nX-Nul: a"s + '\0' + "b\r\nX-Esc: \x1b[31mred\r\n\r\nbody";
  std::string id = q.add(std::string("s\xc3\x28@x.test"), {"r@y.test"}, content);
  q.messages[id].envelope.helo = "\x80\x81 helo";
  json j = answer(make_show_request(id), q);  // answer() fails the test on invalid UTF-8
  ASSERT_EQ(j["ok"], true);
  std::string headers = j["message"]["headers"];
  EXPECT_NE(headers.find("caf\xef\xbf\xbd"), std::string::npos) << "0xE9 became U+FFFD";
  EXPECT_NE(headers.find(std::string("a\0b", 3)), std::string::npos) << "NUL survives as \\u0000";
  EXPECT_NE(headers.find("\x1b[31m"), std::string::npos);
  EXPECT_EQ(headers.find("body"), std::string::npos);
  json l = answer(make_list_request({}), q);
  EXPECT_EQ(l["ok"], true);
}

TEST(AdminProtocol, HeaderBlockBounds) {
  bool cut = false;
  EXPECT_EQ(header_block("A: 1\r\n\r\nbody", 100, cut), "A: 1\r\n");
  EXPECT_FALSE(cut);
  EXPECT_EQ(header_block("A: 1\nB: 2\n\nbody", 100, cut), "A: 1\nB: 2\n");
  EXPECT_EQ(header_block("\r\nbody only", 100, cut), "");
  EXPECT_EQ(header_block("A: no body\r\n", 100, cut), "A: no body\r\n");
  EXPECT_EQ(header_block("A: 123456789\r\n\r\n", 5, cut), "A: 12");
  EXPECT_TRUE(cut);

  FakeQueue q;
  std::string huge = "X-Big: " + std::string(kMaxHeaderBytes * 2, 'h') + "\r\n\r\nbody";
  std::string id = q.add("a@b.test", {"c@d.test"}, huge);
  json j = answer(make_show_request(id), q);
  EXPECT_EQ(j["message"]["headers"].get<std::string>().size(), kMaxHeaderBytes);
  EXPECT_EQ(j["message"]["headers_truncated"], true);
}

TEST(AdminProtocol, QueueExceptionBecomesError) {
  FakeQueue q;
  q.throw_on_list = true;
  RequestSummary s;
  std::string line = handle_admin_request(R"({"cmd":"list"})", q, &s);
  json j = json::parse(line);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"], "internal error: disk on fire");
  EXPECT_EQ(s.cmd, "list");
  EXPECT_FALSE(s.ok);
}

TEST(AdminProtocol, SummaryForTheLog) {
  FakeQueue q;
  std::string id = q.add("a@b.test", {"c@d.test"}, "x");
  RequestSummary s;
  (void)handle_admin_request(make_delete_request(id), q, &s);
  EXPECT_EQ(s.cmd, "delete");
  EXPECT_EQ(s.id, id);
  EXPECT_TRUE(s.ok);
  (void)handle_admin_request(make_delete_request(id), q, &s);
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, "no such message " + id);
}

TEST(AdminProtocol, RequestBuilders) {
  const std::string id = queue::make_queue_id();
  EXPECT_EQ(json::parse(make_retry_request(id)), json({{"cmd", "retry"}, {"id", id}}));
  EXPECT_EQ(json::parse(make_retry_all_request()), json({{"cmd", "retry"}, {"all", true}}));
  EXPECT_EQ(json::parse(make_flush_request("Example.com")), json({{"cmd", "flush"}, {"domain", "Example.com"}}));
  // A domain that JSON must escape still makes a valid request.
  EXPECT_EQ(json::parse(make_flush_request("a\"b\n"))["domain"], "a\"b\n");
}

TEST(AdminProtocol, RetryOne) {
  FakeQueue q;
  std::string id = q.add("a@b.test", {"c@d.test"}, "x");
  RequestSummary s;
  json j = json::parse(handle_admin_request(make_retry_request(id), q, &s));
  EXPECT_EQ(j, json({{"ok", true}, {"count", 1}}));
  EXPECT_EQ(q.calls, std::vector<std::string>{"retry " + id});
  EXPECT_EQ(s.cmd, "retry");
  EXPECT_EQ(s.id, id);
  EXPECT_EQ(s.count, 1u);
  EXPECT_TRUE(s.ok);
  // "all":false (or null) next to an id is just the id.
  EXPECT_EQ(answer(R"({"cmd":"retry","id":")" + id + R"(","all":false})", q)["count"], 1);
  EXPECT_EQ(answer(R"({"cmd":"retry","id":")" + id + R"(","all":null})", q)["count"], 1);
  EXPECT_EQ(q.calls.size(), 3u);
  // The queue's own error comes back, and is what the daemon logs.
  std::string unknown = queue::make_queue_id();
  (void)handle_admin_request(make_retry_request(unknown), q, &s);
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, "no such message " + unknown);
  EXPECT_EQ(s.id, unknown);
  EXPECT_EQ(error_of(make_retry_request(unknown), q), "no such message " + unknown);
}

TEST(AdminProtocol, RetryAll) {
  FakeQueue q;
  q.add("a@b.test", {"c@d.test"}, "x");
  q.add("a@b.test", {"e@f.test"}, "y");
  RequestSummary s;
  json j = json::parse(handle_admin_request(make_retry_all_request(), q, &s));
  EXPECT_EQ(j, json({{"ok", true}, {"count", 2}}));
  EXPECT_EQ(q.calls, std::vector<std::string>{"retry_all"});
  EXPECT_EQ(s.cmd, "retry");
  EXPECT_EQ(s.id, "");
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(answer(R"({"cmd":"retry","all":true,"id":null})", q)["count"], 2);
  // An engine failing unexpectedly: the daemon answers, the client hears why.
  q.throw_on_retry = true;
  EXPECT_EQ(error_of(make_retry_all_request(), q), "internal error: engine on fire");
}

TEST(AdminProtocol, Flush) {
  FakeQueue q;
  q.add("a@b.test", {"x@example.com", "y@other.test"}, "1");
  q.add("a@b.test", {"z@Example.COM"}, "2");
  q.add("a@b.test", {"w@other.test"}, "3");
  RequestSummary s;
  json j = json::parse(handle_admin_request(make_flush_request("EXAMPLE.com"), q, &s));
  EXPECT_EQ(j, json({{"ok", true}, {"count", 2}}));
  // Lowercased before the engine sees it: stores keep domains lowercased.
  EXPECT_EQ(q.calls, std::vector<std::string>{"flush example.com"});
  EXPECT_EQ(s.cmd, "flush");
  EXPECT_EQ(s.domain, "example.com");
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(answer(make_flush_request("nobody.test"), q)["count"], 0);
  // Internationalised domains are stored as UTF-8 (SMTPUTF8) and flushable.
  EXPECT_EQ(answer(make_flush_request("b\xc3\xbc" "cher.example"), q)["ok"], true);
  EXPECT_EQ(q.calls.back(), "flush b\xc3\xbc" "cher.example");
  std::string longest;  // 255 octets: labels of 63, 63, 63, 63 joined by dots
  for (int i = 0; i < 4; ++i) longest += (i ? "." : "") + std::string(63, 'a');
  ASSERT_EQ(longest.size(), kMaxFlushDomainBytes);
  EXPECT_EQ(answer(make_flush_request(longest), q)["ok"], true);

  q.flush_error = "destination example.com is paused";
  (void)handle_admin_request(make_flush_request("example.com"), q, &s);
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, "destination example.com is paused");
  EXPECT_EQ(error_of(make_flush_request("example.com"), q), "destination example.com is paused");
}

// Every malformed retry/flush: refused with a reason naming the problem, and
// nothing reaches the queue.
TEST(AdminProtocol, RetryAndFlushValidation) {
  const std::string id = queue::make_queue_id();
  struct Case {
    std::string request;
    std::string error;  // expected substring of the error
  };
  const std::vector<Case> cases = {
      {R"({"cmd":"retry"})", "missing \"id\" (or \"all\":true)"},
      {R"({"cmd":"retry","all":false})", "missing \"id\" (or \"all\":true)"},
      {R"({"cmd":"retry","id":null})", "missing \"id\" (or \"all\":true)"},
      {R"({"cmd":"retry","id":""})", "missing \"id\""},
      {R"({"cmd":"retry","id":")" + id + R"(","all":true})", "not both"},
      {R"({"cmd":"retry","id":"","all":true})", "not both"},
      {R"({"cmd":"retry","id":"../../etc/passwd"})", "invalid message id"},
      {R"({"cmd":"retry","id":")" + to_lower(id) + R"("})", "invalid message id"},
      {R"({"cmd":"retry","id":")" + id + R"(X"})", "invalid message id"},
      {R"({"cmd":"retry","id":12})", "field \"id\" must be a string"},
      {R"({"cmd":"retry","id":[")" + id + R"("]})", "field \"id\" must be a string"},
      {R"({"cmd":"retry","all":"yes"})", "field \"all\" must be true or false"},
      {R"({"cmd":"retry","all":1})", "field \"all\" must be true or false"},
      {R"({"cmd":"retry","all":true,"domain":"x.test"})", "unknown field \"domain\""},
      {R"({"cmd":"retry","ids":[]})", "unknown field \"ids\""},
      {R"({"cmd":"flush"})", "missing \"domain\""},
      {R"({"cmd":"flush","domain":""})", "missing \"domain\""},
      {R"({"cmd":"flush","domain":null})", "missing \"domain\""},
      {R"({"cmd":"flush","domain":5})", "field \"domain\" must be a string"},
      {R"({"cmd":"flush","domain":["x.test"]})", "field \"domain\" must be a string"},
      {R"({"cmd":"flush","domain":"x.test","all":true})", "unknown field \"all\""},
      {R"({"cmd":"flush","domain":"x.test","id":")" + id + R"("})", "unknown field \"id\""},
      {R"({"cmd":"flush","domain":")" + std::string(kMaxFlushDomainBytes + 1, 'a') + R"("})", "domain too long"},
      {R"({"cmd":"flush","domain":")" + std::string(64, 'a') + R"(.test"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"example.com "})", "invalid domain"},
      {R"({"cmd":"flush","domain":" example.com"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"exa mple.com"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"example.com."})", "invalid domain"},
      {R"({"cmd":"flush","domain":".example.com"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"a..b"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"-a.test"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"a_b.test"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"user@example.com"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"[192.0.2.1]"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"../../etc"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"*.example.com"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"a\u0000b.test"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"a\nb.test"})", "invalid domain"},
      {R"({"cmd":"flush","domain":"a\u0085b.test"})", "invalid domain"},  // C1 control (NEL)
  };
  FakeQueue q;
  q.add("a@b.test", {"c@d.test"}, "x");
  for (const auto& c : cases) {
    RequestSummary s;
    std::string line = handle_admin_request(c.request, q, &s);
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << c.request << " -> " << line;
    EXPECT_EQ(j.value("ok", true), false) << c.request;
    EXPECT_NE(j.value("error", std::string()).find(c.error), std::string::npos)
        << c.request << " -> " << line << " (expected \"" << c.error << "\")";
    EXPECT_LT(line.size(), 200u) << "errors never echo a long request: " << line;
    EXPECT_FALSE(s.ok);
    EXPECT_EQ(s.error, j.value("error", std::string()));
    EXPECT_TRUE(s.domain.empty()) << "only a valid domain is logged as one: " << c.request;
  }
  EXPECT_TRUE(q.calls.empty()) << "an invalid request never reaches the queue, got: " << q.calls.front();
}

// A spool on its own (no delivery engine wired in) says so, whatever is asked.
TEST(AdminProtocol, DefaultQueueAdminHasNoDelivery) {
  SpoolOnlyQueue q;
  const std::string id = queue::make_queue_id();
  EXPECT_EQ(error_of(make_retry_request(id), q), "delivery is not running");
  EXPECT_EQ(error_of(make_retry_all_request(), q), "delivery is not running");
  EXPECT_EQ(error_of(make_flush_request("example.com"), q), "delivery is not running");
  // Validation still comes first.
  EXPECT_NE(error_of(R"({"cmd":"retry"})", q).find("missing"), std::string::npos);
}

TEST(AdminCli, FormatAge) {
  EXPECT_EQ(admin::format_age(-5), "0s");
  EXPECT_EQ(admin::format_age(42), "42s");
  EXPECT_EQ(admin::format_age(192), "3m12s");
  EXPECT_EQ(admin::format_age(2 * 3600 + 5 * 60 + 9), "2h5m");
  EXPECT_EQ(admin::format_age(4 * 86400 + 3600), "4d");
}

TEST(AdminCli, FormatSize) {
  EXPECT_EQ(admin::format_size(0), "0B");
  EXPECT_EQ(admin::format_size(812), "812B");
  EXPECT_EQ(admin::format_size(4096), "4.0K");
  EXPECT_EQ(admin::format_size(12 * 1024 + 100), "12K");
  EXPECT_EQ(admin::format_size(1536 * 1024), "1.5M");
  EXPECT_EQ(admin::format_size(3ull << 30), "3.0G");
}

TEST(AdminCli, TerminalSafe) {
  EXPECT_EQ(admin::terminal_safe("plain\ttext"), "plain\ttext");
  EXPECT_EQ(admin::terminal_safe("\x1b[2Jx\r\n\x7f"), "\\x1B[2Jx\\x0D\\x0A\\x7F");
  EXPECT_EQ(admin::terminal_safe("caf\xc3\xa9"), "caf\xc3\xa9");   // UTF-8 kept
  EXPECT_EQ(admin::terminal_safe("a\xc2\x9b" "b"), "a\\u009Bb");  // C1 CSI escaped
}


// A stand-in for the daemon: a Unix socket at data_dir/admin.sock answering
// each connection's request line with handle_admin_request on a fake queue,
// so the CLI is tested over the same wire it uses for real.
class FakeDaemon {
 public:
  explicit FakeDaemon(queue::QueueAdmin& q) : q_(q) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "volley-admin-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    const std::string path = socket_path(dir_);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (fd_ < 0 || path.size() >= sizeof sa.sun_path) throw std::runtime_error("socket failed");
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd_, 4) != 0)
      throw std::runtime_error("bind/listen failed");
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDaemon() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept() (EINVAL on Linux)
    thread_.join();
    ::close(fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& data_dir() const { return dir_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void serve() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string line;
      char ch;
      while (::read(c, &ch, 1) == 1 && ch != '\n') line += ch;
      std::string reply;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(line);
        reply = handle_admin_request(line, q_) + "\n";
      }
      (void)!::write(c, reply.data(), reply.size());
      ::close(c);
    }
  }

  queue::QueueAdmin& q_;
  std::string dir_;
  int fd_ = -1;
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

struct CliRun {
  int code;
  std::string out, err;
};

CliRun run_cli(const admin::QueueCommand& cmd, const std::string& data_dir) {
  std::ostringstream out, err;
  int code = admin::run_queue_command(cmd, data_dir, out, err);
  return {code, out.str(), err.str()};
}

admin::QueueCommand retry_cmd(std::string id, bool all = false) {
  admin::QueueCommand c;
  c.action = "retry";
  c.id = std::move(id);
  c.all = all;
  return c;
}

admin::QueueCommand flush_cmd(std::string domain) {
  admin::QueueCommand c;
  c.action = "flush";
  c.domain = std::move(domain);
  return c;
}

TEST(AdminCli, RetryAndFlushPrintCounts) {
  FakeQueue q;
  std::string id = q.add("a@b.test", {"x@example.com"}, "1");
  q.add("a@b.test", {"y@example.com", "z@other.test"}, "2");
  q.add("a@b.test", {"w@other.test"}, "3");
  {
    FakeDaemon d(q);
    CliRun r = run_cli(retry_cmd(id), d.data_dir());
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "retry: 1 message(s) scheduled now\n");
    EXPECT_EQ(r.err, "");
    r = run_cli(retry_cmd("", true), d.data_dir());
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "retry: 3 message(s) scheduled now\n");
    r = run_cli(flush_cmd("Example.COM"), d.data_dir());
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "flush example.com: 2 message(s) scheduled now\n");
    admin::QueueCommand as_json = flush_cmd("other.test");
    as_json.json = true;
    r = run_cli(as_json, d.data_dir());
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "{\"count\":2}\n");
    EXPECT_EQ(d.requests(), (std::vector<std::string>{make_retry_request(id), make_retry_all_request(),
                                                       make_flush_request("Example.COM"),
                                                       make_flush_request("other.test")}));
  }
  EXPECT_EQ(q.calls, (std::vector<std::string>{"retry " + id, "retry_all", "flush example.com", "flush other.test"}));
}

TEST(AdminCli, RetryAndFlushErrorAnswersExitOne) {
  FakeQueue q;
  FakeDaemon d(q);
  std::string unknown = queue::make_queue_id();
  CliRun r = run_cli(retry_cmd(unknown), d.data_dir());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "volley: queue retry: no such message " + unknown + "\n");
  r = run_cli(retry_cmd("not-an-id"), d.data_dir());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "volley: queue retry: invalid message id (expected 20 characters of 0-9 and A-V)\n");
  r = run_cli(flush_cmd("bad domain"), d.data_dir());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("volley: queue flush: invalid domain", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);

  // The daemon's error text is untrusted: it cannot reach the terminal raw.
  // (A queue of its own, set up before its daemon thread starts.)
  FakeQueue paused;
  paused.flush_error = "paused \x1b[2J";
  FakeDaemon paused_daemon(paused);
  r = run_cli(flush_cmd("example.com"), paused_daemon.data_dir());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "volley: queue flush: paused \\x1B[2J\n");

  SpoolOnlyQueue spool;
  FakeDaemon no_delivery(spool);
  r = run_cli(retry_cmd("", true), no_delivery.data_dir());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "volley: queue retry: delivery is not running\n");
}

TEST(AdminCli, RetryNeedsExactlyOneOfIdAndAll) {
  // Refused before connecting: these data_dirs have no daemon, so reaching
  // the socket would produce a different error.
  const std::string nowhere = "/nonexistent/volley-admin-test";
  CliRun r = run_cli(retry_cmd(""), nowhere);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "volley: queue retry: give a queue id, or --all for every deferred message\n");
  r = run_cli(retry_cmd(queue::make_queue_id(), true), nowhere);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "volley: queue retry: give a queue id or --all, not both\n");
  EXPECT_EQ(r.out, "");
}

TEST(AdminCli, DaemonNotRunning) {
  const std::string nowhere = "/nonexistent/volley-admin-test";
  for (const auto& cmd : {retry_cmd(queue::make_queue_id()), retry_cmd("", true), flush_cmd("example.com")}) {
    CliRun r = run_cli(cmd, nowhere);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err.rfind("volley: queue " + cmd.action + ": cannot reach the running daemon at " + nowhere +
                              "/admin.sock: ",
                          0),
              0u)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace
}  // namespace volley::admin
