// Queue ids sort by arrival and never repeat; the envelope text form
// round-trips whatever bytes a client sent.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>

#include "queue/envelope.hpp"
#include "queue/queue_id.hpp"

namespace volley::queue {
namespace {

Message sample() {
  Message m;
  m.envelope.id = make_queue_id();
  m.envelope.sender = "a b%c@example.org";
  Recipient r;
  r.address = "alice@local.test";
  r.original = "Sales@Local.Test";
  r.notify = 6;
  r.orcpt_type = "rfc822";
  r.orcpt_address = "x\ny@z";
  m.envelope.recipients.push_back(r);
  m.envelope.helo = "\xff\x01 weird";
  m.envelope.received_at = 1700000000;
  m.envelope.attempts.push_back(Attempt{1700000100, "alice@local.test", "deferred", "mx.example [192.0.2.1]", "451 4.7.1 try later"});
  m.content = std::string("Subject: t\r\n\r\n\0binary\xff\r\n", 24);
  return m;
}

TEST(QueueId, SortableAndUnique) {
  std::set<std::string> ids;
  std::string prev;
  for (int i = 0; i < 10000; ++i) {
    auto id = make_queue_id();
    EXPECT_TRUE(is_valid_queue_id(id)) << id;
    EXPECT_TRUE(ids.insert(id).second);
    if (!prev.empty()) {
      EXPECT_LE(prev.substr(0, 11), id.substr(0, 11));
    }
    prev = id;
  }
  EXPECT_FALSE(is_valid_queue_id("../etc/passwd"));
}

TEST(Envelope, RoundTrip) {
  Message m = sample();
  Envelope back;
  ASSERT_TRUE(parse_envelope(serialize_envelope(m.envelope), back));
  EXPECT_EQ(back.id, m.envelope.id);
  EXPECT_EQ(back.sender, m.envelope.sender);
  EXPECT_EQ(back.helo, m.envelope.helo);
  ASSERT_EQ(back.recipients.size(), 1u);
  EXPECT_EQ(back.recipients[0].orcpt_address, "x\ny@z");
  EXPECT_EQ(back.recipients[0].original, "Sales@Local.Test");
  EXPECT_EQ(back.recipients[0].notify, 6u);
  EXPECT_EQ(back.received_at, 1700000000);
  EXPECT_EQ(back.auth_user, "");
  ASSERT_EQ(back.attempts.size(), 1u);
  EXPECT_EQ(back.attempts[0].reply, "451 4.7.1 try later");
  EXPECT_EQ(back.attempts[0].at, 1700000100);
}

}  // namespace
}  // namespace volley::queue
