// Admin socket protocol (admin/admin_protocol.hpp) against a fake queue:
// every command, and every way a request can be wrong, answered with valid
// JSON and never an exception. Plus the CLI's display helpers.
#include "admin/admin_protocol.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "app/queue_command.hpp"
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
  mutable queue::ListFilter last_filter;
  bool throw_on_list = false;
};

// Parses an answer; a parse failure (invalid JSON or UTF-8) fails the test.
json answer(std::string_view request, FakeQueue& q) {
  std::string line = handle_admin_request(request, q);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "an answer is one line";
  json j = json::parse(line, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << line;
  EXPECT_TRUE(j.is_object()) << line;
  EXPECT_EQ(line.rfind("{\"ok\":", 0), 0u) << "\"ok\" comes first: " << line;
  return j;
}

std::string error_of(std::string_view request, FakeQueue& q) {
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
  EXPECT_EQ(error_of(R"({"cmd":"flush"})", q), "unknown command \"flush\"");
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

TEST(AdminCli, FormatAge) {
  EXPECT_EQ(app::format_age(-5), "0s");
  EXPECT_EQ(app::format_age(42), "42s");
  EXPECT_EQ(app::format_age(192), "3m12s");
  EXPECT_EQ(app::format_age(2 * 3600 + 5 * 60 + 9), "2h5m");
  EXPECT_EQ(app::format_age(4 * 86400 + 3600), "4d");
}

TEST(AdminCli, FormatSize) {
  EXPECT_EQ(app::format_size(0), "0B");
  EXPECT_EQ(app::format_size(812), "812B");
  EXPECT_EQ(app::format_size(4096), "4.0K");
  EXPECT_EQ(app::format_size(12 * 1024 + 100), "12K");
  EXPECT_EQ(app::format_size(1536 * 1024), "1.5M");
  EXPECT_EQ(app::format_size(3ull << 30), "3.0G");
}

TEST(AdminCli, TerminalSafe) {
  EXPECT_EQ(app::terminal_safe("plain\ttext"), "plain\ttext");
  EXPECT_EQ(app::terminal_safe("\x1b[2Jx\r\n\x7f"), "\\x1B[2Jx\\x0D\\x0A\\x7F");
  EXPECT_EQ(app::terminal_safe("caf\xc3\xa9"), "caf\xc3\xa9");   // UTF-8 kept
  EXPECT_EQ(app::terminal_safe("a\xc2\x9b" "b"), "a\\u009Bb");  // C1 CSI escaped
}

}  // namespace
}  // namespace volley::admin
