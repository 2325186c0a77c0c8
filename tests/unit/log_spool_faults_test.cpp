// LogSpool through the file-system seam: a failed batch rolls back (Beast's
// fail_count idea: fail the Nth write/sync for N = 1, 2, ... until the batch
// succeeds), and large messages' body files: committed, loaded byte for
// byte, removed with the message, never left behind by a failure, an abort
// or a crash.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>

#include "queue/log_spool.hpp"
#include "queue/queue_id.hpp"
#include "queue/record.hpp"
#include "util/file_system.hpp"

#include "temp_dir.hpp"

namespace volley::queue {
namespace {
namespace stdfs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("spoolfault") {}
  std::string queue() const { return path + "/queue"; }
};

// Holds the committer inside its next pwritev until released, so that the
// commits a test makes meanwhile all land in the following batch.
class GatedFileSystem final : public FileSystem {
 public:
  explicit GatedFileSystem(FileSystem& base) : base_(base) {}
  void close_gate() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void wait_until_held() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_; });
  }
  void open_gate() {
    std::lock_guard lock(mu_);
    closed_ = false;
    cv_.notify_all();
  }

  Result<int> open(const std::string& p, int flags, mode_t mode) override { return base_.open(p, flags, mode); }
  Result<void> close(int fd) override { return base_.close(fd); }
  Result<void> write_all(int fd, std::string_view d) override { return base_.write_all(fd, d); }
  Result<void> pwritev_all(int fd, const struct iovec* iov, int n, uint64_t off) override {
    {
      std::unique_lock lock(mu_);
      if (closed_) {
        held_ = true;
        cv_.notify_all();
        cv_.wait(lock, [&] { return !closed_; });
        held_ = false;
      }
    }
    return base_.pwritev_all(fd, iov, n, off);
  }
  Result<void> pread_into(int fd, char* out, size_t n, uint64_t off) override {
    return base_.pread_into(fd, out, n, off);
  }
  Result<void> fsync(int fd) override { return base_.fsync(fd); }
  Result<void> fdatasync(int fd) override { return base_.fdatasync(fd); }
  Result<void> ftruncate(int fd, uint64_t n) override { return base_.ftruncate(fd, n); }
  Result<void> rename(const std::string& a, const std::string& b) override { return base_.rename(a, b); }
  Result<void> unlink(const std::string& p) override { return base_.unlink(p); }
  Result<void> mkdir(const std::string& p, mode_t m) override { return base_.mkdir(p, m); }
  Result<void> fsync_dir(const std::string& p) override { return base_.fsync_dir(p); }

 private:
  FileSystem& base_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  bool held_ = false;
};

std::shared_ptr<Message> make_message(const std::string& tag, std::string content = {}) {
  auto m = std::make_shared<Message>();
  m->envelope.id = make_queue_id();
  m->envelope.sender = tag + "@example.org";
  Recipient r;
  r.address = "alice@local.test";
  m->envelope.recipients.push_back(r);
  m->content = content.empty() ? "Subject: " + tag + "\r\n\r\nbody of " + tag + "\r\n" : std::move(content);
  return m;
}

Result<void> commit_sync(LogSpool& s, std::shared_ptr<const Message> m) {
  std::promise<Result<void>> p;
  s.commit(std::move(m), [&](Result<void> r) { p.set_value(r); });
  return p.get_future().get();
}

Result<void> commit_stored_sync(LogSpool& s, std::shared_ptr<const Message> head, std::unique_ptr<BodyFile> body) {
  std::promise<Result<void>> p;
  s.commit_stored(std::move(head), std::move(body), [&](Result<void> r) { p.set_value(r); });
  return p.get_future().get();
}

std::vector<std::string> body_files(const TempDir& d) {
  std::vector<std::string> out;
  for (auto& e : stdfs::directory_iterator(d.queue()))
    if (e.path().filename().string().rfind("body-", 0) == 0) out.push_back(e.path().filename().string());
  return out;
}

uint64_t segment_size(const TempDir& d) {
  uint64_t n = 0;
  for (auto& e : stdfs::directory_iterator(d.queue()))
    if (e.path().filename().string().rfind("seg-", 0) == 0) n += stdfs::file_size(e.path());
  return n;
}

// A batch of three commits whose Nth file operation fails: every callback in
// it is told, the segment is cut back to where the batch began, nothing of
// it is there after reopening, and a later batch is fine.
void check_failed_batch_rolls_back(int err, ErrorCode expected) {
  for (uint64_t n = 1;; ++n) {
    SCOPED_TRACE("failing operation " + std::to_string(n));
    TempDir d;
    FaultyFileSystem faulty;
    GatedFileSystem gated(faulty);
    auto opened = LogSpool::open(d.path, LogSpool::Options{.fs = &gated});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    LogSpool& spool = **opened;
    auto a = make_message("a");
    ASSERT_TRUE(commit_sync(spool, a).ok());
    const uint64_t after_x = segment_size(d) + encode_message_record(*make_message("x")).size();

    // x's batch waits in its pwritev while b, c, d queue up behind it.
    gated.close_gate();
    auto x = make_message("x");
    std::promise<Result<void>> x_done;
    spool.commit(x, [&](Result<void> r) { x_done.set_value(r); });
    gated.wait_until_held();
    std::vector<std::shared_ptr<Message>> batch = {make_message("b"), make_message("c"), make_message("d")};
    std::vector<std::promise<Result<void>>> done(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) spool.commit(batch[i], [&, i](Result<void> r) { done[i].set_value(r); });
    // x's batch: pwritev + fdatasync; then the Nth operation of b-c-d's.
    faulty.fail_at(2 + n, err);
    gated.open_gate();
    ASSERT_TRUE(x_done.get_future().get().ok());
    std::vector<Result<void>> results;
    for (auto& p : done) results.push_back(p.get_future().get());
    faulty.fail_at(0);
    const bool failed = !results[0].ok();
    for (const auto& r : results) {
      ASSERT_EQ(r.ok(), !failed) << "one batch, one outcome";
      if (!r.ok()) {
        EXPECT_EQ(r.error().code, expected) << r.error().message;
      }
    }
    if (failed) {
      EXPECT_EQ(segment_size(d), after_x) << "segment cut back to where the batch began";
    }

    auto e = make_message("e");
    ASSERT_TRUE(commit_sync(spool, e).ok()) << "a later batch after a failed one";
    opened.value().reset();
    auto again = LogSpool::open(d.path);
    ASSERT_TRUE(again.ok());
    for (const auto& m : {a, x, e}) {
      auto back = (*again)->load(m->envelope.id);
      ASSERT_TRUE(back) << m->envelope.sender;
      EXPECT_EQ(back->content, m->content);
    }
    for (const auto& m : batch) EXPECT_EQ((*again)->load(m->envelope.id).has_value(), !failed);
    EXPECT_EQ((*again)->count(), failed ? 3u : 6u);
    if (!failed) {
      EXPECT_GE(n, 3u) << "a batch takes a write and a sync";
      return;
    }
  }
}

TEST(LogSpoolFaults, FailedBatchRollsBackForEveryFailingOperation) {
  check_failed_batch_rolls_back(EIO, ErrorCode::Io);
}

TEST(LogSpoolFaults, FullDiskIsNoSpace) { check_failed_batch_rolls_back(ENOSPC, ErrorCode::NoSpace); }

std::string big_piece(char c, size_t n) {
  std::string s;
  s.reserve(n);
  while (s.size() + 40 <= n) s += std::string("line of body text, letter ") + c + "...........\r\n";
  s.append(n - s.size(), c);
  return s;
}

// The whole stored-message path, with its Nth file operation failing for
// N = 1, 2, ... until it succeeds: a failure never leaves a body file or a
// message behind; success gives the content back byte for byte, also after
// reopening, and erasing the message removes its file.
TEST(LogSpoolFaults, StoredBodyFailsCleanlyAtEveryOperation) {
  const std::string head = "Received: from c\r\n\tby mx.test (Volley) with ESMTP id x\r\n";
  const std::string p1 = big_piece('a', 300000), p2 = big_piece('b', 123457);
  for (uint64_t n = 1;; ++n) {
    SCOPED_TRACE("failing operation " + std::to_string(n));
    TempDir d;
    FaultyFileSystem faulty;
    auto opened = LogSpool::open(d.path, LogSpool::Options{.fs = &faulty});
    ASSERT_TRUE(opened.ok());
    LogSpool& spool = **opened;
    auto msg = make_message("big", head);
    faulty.fail_at(n);
    Result<void> r;
    {
      auto body = spool.create_body(msg->envelope.id);
      if (!body) {
        r = body.error();
      } else {
        r = (*body)->append(p1);
        if (r) r = (*body)->append(p2);
        if (r) r = (*body)->sync();
        if (r) r = commit_stored_sync(spool, msg, std::move(*body));
      }
    }  // a body not handed over is removed here
    faulty.fail_at(0);
    if (!r) {
      EXPECT_TRUE(body_files(d).empty()) << "failure at operation " << n << " left a body file";
      EXPECT_EQ(spool.count(), 0u);
      opened.value().reset();
      auto again = LogSpool::open(d.path);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ((*again)->count(), 0u);
      continue;
    }
    EXPECT_GE(n, 8u) << "open, 2 writes, body sync, dir sync, record write, record sync all failed once";
    auto back = spool.load(msg->envelope.id);
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->content == head + p1 + p2);
    auto listed = spool.list({});
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].size, head.size() + p1.size() + p2.size());
    opened.value().reset();
    auto again = LogSpool::open(d.path);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->recovery().orphan_bodies, 0u);
    back = (*again)->show(msg->envelope.id);
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->content == head + p1 + p2);
    EXPECT_EQ(back->envelope.sender, "big@example.org");
    ASSERT_TRUE((*again)->remove(msg->envelope.id).ok());
    EXPECT_TRUE(body_files(d).empty()) << "erasing a stored message removes its body";
    return;
  }
}

TEST(LogSpoolFaults, OrphanBodyOfAnUnfinishedTransferIsRemovedAtOpen) {
  TempDir d;
  const std::string id = make_queue_id();
  {
    auto s = LogSpool::open(d.path);
    ASSERT_TRUE(s.ok());
    auto body = (*s)->create_body(id);
    ASSERT_TRUE(body.ok());
    ASSERT_TRUE((*body)->append("half a message").ok());
    // A crash now: the process dies without removing the file.
    ASSERT_EQ(::link((*body)->path().c_str(), (d.queue() + "/body-" + make_queue_id()).c_str()), 0);
  }
  EXPECT_EQ(body_files(d).size(), 1u) << "the abandoned body was removed at once; its crash copy remains";
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->recovery().orphan_bodies, 1u);
  EXPECT_TRUE(body_files(d).empty());
}

// Commits `msg` with `body` as a stored message, then closes the spool.
void store_and_close(const TempDir& d, const std::shared_ptr<Message>& msg, const std::string& body_bytes) {
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  auto body = (*s)->create_body(msg->envelope.id);
  ASSERT_TRUE(body.ok());
  ASSERT_TRUE((*body)->append(body_bytes).ok());
  ASSERT_TRUE((*body)->sync().ok());
  ASSERT_TRUE(commit_stored_sync(**s, msg, std::move(*body)).ok());
}

TEST(LogSpoolFaults, TornStoredRecordLeavesNoBody) {
  TempDir d;
  auto msg = make_message("torn", "Received: x\r\n");
  store_and_close(d, msg, big_piece('t', 100000));
  // Cut the record in half, as a crash in the middle of its write would.
  for (auto& e : stdfs::directory_iterator(d.queue()))
    if (e.path().filename().string().rfind("seg-", 0) == 0) stdfs::resize_file(e.path(), stdfs::file_size(e.path()) - 20);
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->count(), 0u);
  EXPECT_EQ((*s)->recovery().orphan_bodies, 1u);
  EXPECT_TRUE(body_files(d).empty());
}

TEST(LogSpoolFaults, StoredMessageWithItsBodyGoneIsDroppedLoudly) {
  TempDir d;
  auto msg = make_message("lost", "Received: x\r\n");
  store_and_close(d, msg, "content");
  stdfs::remove(d.queue() + "/body-" + msg->envelope.id);
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->recovery().missing_bodies, 1u);
  EXPECT_EQ((*s)->count(), 0u);
}

TEST(LogSpoolFaults, UnsyncedBodyIsRefused) {
  TempDir d;
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  auto msg = make_message("unsynced", "Received: x\r\n");
  auto body = (*s)->create_body(msg->envelope.id);
  ASSERT_TRUE(body.ok());
  ASSERT_TRUE((*body)->append("content").ok());
  auto r = commit_stored_sync(**s, msg, std::move(*body));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::Invalid);
  EXPECT_TRUE(body_files(d).empty());
  EXPECT_EQ((*s)->count(), 0u);
}

}  // namespace
}  // namespace volley::queue
