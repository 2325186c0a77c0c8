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
#include "queue/record.hpp"

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

// The Junk folder (inbound DMARC quarantine) survives the queue record; an
// envelope without one is written exactly as before the field existed, so
// the record format stays what older versions read and write.
TEST(Envelope, FolderRoundTripsThroughTheQueueRecord) {
  Message m = sample();
  m.envelope.folder = kJunkFolder;
  const std::string rec = encode_message_record(m);
  RecordView view;
  ASSERT_EQ(decode_record(rec, view), DecodeStatus::Ok);
  Envelope back;
  std::string_view content;
  ASSERT_TRUE(decode_message_payload(view.payload, back, content));
  EXPECT_EQ(back.folder, "Junk");
  EXPECT_EQ(content, m.content);
  Envelope updated;
  ASSERT_TRUE(parse_envelope(serialize_envelope(back), updated));  // update records keep it too
  EXPECT_EQ(updated.folder, "Junk");

  m.envelope.folder.clear();
  EXPECT_EQ(serialize_envelope(m.envelope).find("folder"), std::string::npos);
}

// The platform's fields (tracked, campaign) survive the record and an
// update; absent, nothing is written for them.
TEST(Envelope, PlatformFieldsRoundTrip) {
  Message m = sample();
  m.envelope.tracked = true;
  m.envelope.campaign = "c 1%";
  Envelope back;
  ASSERT_TRUE(parse_envelope(serialize_envelope(m.envelope), back));
  EXPECT_TRUE(back.tracked);
  EXPECT_EQ(back.campaign, "c 1%");
  m.envelope.tracked = false;
  m.envelope.campaign.clear();
  const std::string text = serialize_envelope(m.envelope);
  EXPECT_EQ(text.find("tracked"), std::string::npos);
  EXPECT_EQ(text.find("campaign"), std::string::npos);
}

// A record as the version before the folder field wrote it (envelope text
// byte for byte) still loads, and its message goes to INBOX.
TEST(Envelope, RecordWrittenBeforeTheFolderFieldStillLoads) {
  const std::string old_text =
      "id 00000000000000000042\nsender alice@example.org\ndsn_ret %\ndsn_envid %\nsmtputf8 0\neight_bit 0\n"
      "client_ip 192.0.2.1\nhelo mail.example.org\ntls %\nauth_user %\nlistener mx\nreceived_at 1700000000\n"
      "rcpt bob@local.test bob@local.test 0 % % pending\n";
  std::string payload;
  const uint32_t n = static_cast<uint32_t>(old_text.size());
  for (int i = 0; i < 4; ++i) payload.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  payload += old_text;
  payload += "Subject: old\r\n\r\nbody\r\n";
  Envelope env;
  std::string_view content;
  ASSERT_TRUE(decode_message_payload(payload, env, content));
  EXPECT_EQ(env.id, "00000000000000000042");
  EXPECT_EQ(env.folder, "");
  EXPECT_EQ(content, "Subject: old\r\n\r\nbody\r\n");
  // And what this version writes for such a message is that same text.
  EXPECT_EQ(serialize_envelope(env), old_text);
}

}  // namespace
}  // namespace volley::queue
