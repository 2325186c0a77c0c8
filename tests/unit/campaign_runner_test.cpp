// The campaign runner: a stored campaign becomes one queued message per
// recipient (merge fields, List-Unsubscribe with that recipient's token, a
// VERP return path, history and events), suppressed recipients are skipped,
// and a batch that failed part-way or was interrupted by a crash is redone
// without losing or doubling anyone.
#include <gtest/gtest.h>

#include <asio/thread_pool.hpp>
#include <nlohmann/json.hpp>
#include <map>
#include <mutex>
#include <set>

#include "api/campaign_runner.hpp"
#include "platform/unsubscribe_token.hpp"
#include "platform/verp.hpp"
#include "queue/queue_id.hpp"
#include "temp_dir.hpp"
#include "util/strings.hpp"

using namespace volley;

namespace {

// A spool that keeps what it commits in memory and refuses the commits
// whose positions are in `fail` (counting every commit asked for).
class MemorySpool final : public queue::Spool {
 public:
  void commit(std::shared_ptr<const queue::Message> m, Callback done) override {
    size_t n;
    {
      std::lock_guard lock(mu);
      n = asked++;
      if (!fail.count(n)) committed[m->envelope.id] = m;
    }
    done(fail.count(n) ? Result<void>(make_error(ErrorCode::Io, "disk trouble")) : Result<void>());
  }
  void shutdown() override {}

  std::mutex mu;
  size_t asked = 0;
  std::set<size_t> fail;
  std::map<std::string, std::shared_ptr<const queue::Message>> committed;
};

class TestIntake final : public inbound::Intake {
 public:
  TestIntake() {
    auto s = std::make_shared<inbound::Snapshot>();
    s->cfg.server.hostname = "mx.test";
    snap = s;
  }
  std::shared_ptr<const inbound::Snapshot> snapshot() const override { return snap; }
  queue::Spool& spool() override { return mem; }
  void queued(std::shared_ptr<const queue::Message> m) override { handed.push_back(m->envelope.id); }
  void queued_stored(const std::string&) override {}
  asio::thread_pool& blocking_pool() override { return pool; }
  asio::thread_pool& spill_pool() override { return pool; }

  std::shared_ptr<const inbound::Snapshot> snap;
  MemorySpool mem;
  std::vector<std::string> handed;
  asio::thread_pool pool{1};
};

struct CampaignRunnerTest : ::testing::Test {
  test::TempDir tmp{"campaign-runner"};
  std::unique_ptr<platform::Platform> platform = open();
  TestIntake intake;
  FakeClock clock;
  api::ApiContext ctx{intake, *platform, clock};

  std::unique_ptr<platform::Platform> open() {
    auto p = platform::Platform::open(tmp.path + "/data");
    EXPECT_TRUE(p) << (p ? "" : p.error().message);
    return p ? std::move(*p) : nullptr;
  }
  std::string_view secret() const {
    return {reinterpret_cast<const char*>(platform->secret().data()), platform->secret().size()};
  }
  api::CampaignRunner::Options options(size_t batch) {
    api::CampaignRunner::Options o;
    o.unsubscribe_base = "https://mail.example.test";
    o.batch = batch;
    o.retry_pause = std::chrono::milliseconds(1);
    o.in_queue = [this](const std::string& id) {
      std::lock_guard lock(intake.mem.mu);
      return intake.mem.committed.count(id) > 0;
    };
    return o;
  }
  // A campaign of n recipients r0@dest.test ... stored as POST /v1/campaigns stores it.
  void store_campaign(const std::string& id, size_t n) {
    nlohmann::json body = {{"from", "News <news@example.test>"},
                           {"subject", "Hello {{name}}"},
                           {"text", "Dear {{name}}, your code is {{code}}."},
                           {"html", "<p>Dear {{name}}</p>"}};
    body["recipients"] = nlohmann::json::array();
    for (size_t i = 0; i < n; ++i)
      body["recipients"].push_back({{"address", concat("r", std::to_string(i), "@dest.test")},
                                    {"vars", {{"name", concat("R<", std::to_string(i), ">")}, {"code", std::to_string(1000 + i)}}}});
    platform::CampaignJob job;
    job.request = body.dump();
    job.total = static_cast<int64_t>(n);
    job.client_ip = "192.0.2.1";
    job.key_name = "k";
    ASSERT_TRUE(platform->campaigns().create({id, 1, "news@example.test", "Hello {{name}}", "[]"}, job));
  }
  // recipient address -> the messages committed for it
  std::map<std::string, std::vector<std::shared_ptr<const queue::Message>>> by_recipient() {
    std::map<std::string, std::vector<std::shared_ptr<const queue::Message>>> out;
    for (const auto& [id, m] : intake.mem.committed) out[m->envelope.recipients.at(0).address].push_back(m);
    return out;
  }
};

std::string header_value(const std::string& content, std::string_view name) {
  const std::string key = concat("\r\n", name, ": ");
  size_t p = content.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  std::string v;
  // unfold continuation lines
  for (;;) {
    size_t e = content.find("\r\n", p);
    v += content.substr(p, e - p);
    if (e + 2 < content.size() && (content[e + 2] == ' ' || content[e + 2] == '\t')) {
      p = e + 2;
      continue;
    }
    return v;
  }
}

TEST_F(CampaignRunnerTest, EveryRecipientGetsOneMessageOfItsOwn) {
  store_campaign("C1", 300);
  ASSERT_TRUE(platform->suppressions().add({"example.test", "r7@dest.test", platform::SuppressionReason::Manual, 1, ""}));
  api::CampaignRunner runner(ctx, options(64));
  runner.run_pending();

  auto sent = by_recipient();
  EXPECT_EQ(sent.size(), 299u);
  EXPECT_EQ(sent.count("r7@dest.test"), 0u) << "a suppressed recipient is never queued";
  EXPECT_EQ(intake.handed.size(), 299u) << "every committed message is handed to delivery";
  for (const auto& [address, msgs] : sent) ASSERT_EQ(msgs.size(), 1u) << address;

  const auto& m = *sent.at("r42@dest.test").at(0);
  EXPECT_TRUE(m.envelope.tracked);
  EXPECT_EQ(m.envelope.campaign, "C1");
  EXPECT_NE(m.content.find("Subject: Hello R<42>"), std::string::npos);
  EXPECT_NE(m.content.find("your code is 1042."), std::string::npos);
  EXPECT_NE(m.content.find("R&lt;42&gt;"), std::string::npos) << "vars are HTML-escaped in html";
  EXPECT_NE(m.content.find("Received: from [192.0.2.1]"), std::string::npos);
  EXPECT_EQ(header_value(m.content, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");

  // The link's token names this recipient, the sender domain and the campaign.
  const std::string lu = header_value(m.content, "List-Unsubscribe");
  const std::string prefix = "<https://mail.example.test/unsubscribe/";
  ASSERT_EQ(lu.rfind(prefix, 0), 0u) << lu;
  const std::string token = lu.substr(prefix.size(), lu.find('>') - prefix.size());
  auto who = platform::open_unsubscribe_token(secret(), token);
  ASSERT_TRUE(who) << token;
  EXPECT_EQ(who->address, "r42@dest.test");
  EXPECT_EQ(who->sender_domain, "example.test");
  EXPECT_EQ(who->campaign_id, "C1");
  EXPECT_NE(lu.find(concat("<mailto:unsubscribe@example.test?subject=unsubscribe%20", token, ">")), std::string::npos);

  // The return path is a VERP address naming this message.
  const std::string& sender = m.envelope.sender;
  ASSERT_NE(sender.find('@'), std::string::npos);
  auto target = platform::parse_bounce_address(secret(), sender.substr(0, sender.find('@')));
  ASSERT_TRUE(target) << sender;
  EXPECT_EQ(target->message_id, m.envelope.id);

  auto progress = platform->campaigns().progress("C1");
  ASSERT_TRUE(progress && progress->has_value());
  EXPECT_TRUE((*progress)->done);
  auto counts = platform->history().campaign_counts("C1");
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->queued, 299);
  EXPECT_EQ(counts->suppressed, 1);
  platform::EventType received = platform::EventType::Received;
  auto events = platform->events().list(0, &received, 1000);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->events.size(), 299u);
}

TEST_F(CampaignRunnerTest, AFailedBatchIsRedoneWithoutLosingOrDoublingAnyone) {
  store_campaign("C2", 200);
  // Commits 70..79 and 130 fail: two batches fail part-way.
  for (size_t n = 70; n < 80; ++n) intake.mem.fail.insert(n);
  intake.mem.fail.insert(130);
  api::CampaignRunner runner(ctx, options(50));
  runner.run_pending();

  auto sent = by_recipient();
  ASSERT_EQ(sent.size(), 200u);
  for (const auto& [address, msgs] : sent) EXPECT_EQ(msgs.size(), 1u) << address << " was sent twice";
  auto counts = platform->history().campaign_counts("C2");
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->queued, 200);
  platform::EventType received = platform::EventType::Received;
  auto events = platform->events().list(0, &received, 1000);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->events.size(), 200u) << "a redone message has one received event";
}

TEST_F(CampaignRunnerTest, ResumeAfterACrashSendsOnlyWhatNeverReachedTheQueue) {
  store_campaign("C3", 10);
  // A crash in the first batch: r0..r2 recorded and committed (r1 even
  // delivered and gone from the queue), r3 recorded but never committed,
  // r4.. never recorded.
  std::vector<platform::HistoryMessage> recorded;
  std::map<std::string, std::string> ids;
  for (int i = 0; i < 4; ++i) {
    const std::string address = concat("r", std::to_string(i), "@dest.test");
    ids[address] = queue::make_queue_id();
    platform::HistoryMessage h{ids[address], 1, "news@example.test", "s", "[]", "C3", {}};
    platform::HistoryRecipient r;
    r.address = address;
    h.recipients.push_back(r);
    recorded.push_back(h);
  }
  ASSERT_TRUE(platform->history().record_batch(recorded));
  ASSERT_TRUE(platform->history().update(ids["r1@dest.test"], {{"r1@dest.test", platform::kStateDelivered, "250 ok"}}));
  for (const char* a : {"r0@dest.test", "r2@dest.test"}) {
    auto m = std::make_shared<queue::Message>();
    m->envelope.id = ids[a];
    queue::Recipient r;
    r.address = r.original = a;
    m->envelope.recipients.push_back(r);
    intake.mem.committed[ids[a]] = m;
  }
  const size_t before = intake.mem.asked;

  api::CampaignRunner runner(ctx, options(256));
  runner.run_pending();

  EXPECT_EQ(intake.mem.asked - before, 7u) << "r3 and r4..r9; not r0, r1, r2";
  auto sent = by_recipient();
  ASSERT_EQ(sent.size(), 9u);  // r1 left the queue when it was delivered
  EXPECT_EQ(sent.count("r1@dest.test"), 0u);
  ASSERT_EQ(sent.at("r3@dest.test").size(), 1u);
  EXPECT_EQ(sent.at("r3@dest.test").at(0)->envelope.id, ids["r3@dest.test"]) << "sent under the id its record names";
  auto counts = platform->history().campaign_counts("C3");
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->queued, 9);
  EXPECT_EQ(counts->delivered, 1);
}

TEST(UnsubscribeBaseUrl, PublicUrlOrTheFirstHttpListener) {
  config::Config cfg;
  cfg.server.hostname = "mx.example.test";
  EXPECT_EQ(api::unsubscribe_base_url(cfg), "");
  config::Listener l;
  l.protocol = config::Protocol::Http;
  l.host = "0.0.0.0";
  l.port = 8443;
  l.tls = config::TlsMode::Implicit;
  cfg.listeners.push_back(l);
  EXPECT_EQ(api::unsubscribe_base_url(cfg), "https://mx.example.test:8443");
  cfg.listeners[0].host = "::1";
  cfg.listeners[0].tls = config::TlsMode::None;
  EXPECT_EQ(api::unsubscribe_base_url(cfg), "http://[::1]:8443");
  cfg.api.public_url = "https://mail.example.test/";
  EXPECT_EQ(api::unsubscribe_base_url(cfg), "https://mail.example.test");
}

}  // namespace
