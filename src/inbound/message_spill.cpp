#include "inbound/message_spill.hpp"

#include <asio/post.hpp>
#include <mutex>

#include "net/async_bridge.hpp"

namespace volley::inbound {

// Shared by the connection and the pool jobs it starts. The loop awaits every
// job, so they never overlap; the mutex covers only the connection's
// teardown racing a job still running on the pool.
struct MessageSpill::Open {
  std::mutex mu;
  std::unique_ptr<queue::BodyFile> file;

  void discard() {
    if (!file) return;
    file->discard();
    file.reset();
  }
};

MessageSpill::MessageSpill(Intake& intake) : rt_(intake), open_(std::make_shared<Open>()) {}

MessageSpill::~MessageSpill() {
  // Removing a large file can take a while: not on the I/O thread.
  asio::post(rt_.spill_pool(), [open = std::move(open_)] {
    std::lock_guard lock(open->mu);
    open->discard();
  });
}

asio::awaitable<void> MessageSpill::carry_out(smtp::Session& session, asio::any_io_executor ex) {
  using Kind = smtp::SpillRequest::Kind;
  smtp::SpillRequest req = session.take_spill();
  queue::Spool& spool = rt_.spool();
  auto open = open_;
  if (req.kind == Kind::Discard) {
    auto discard = [open] {
      std::lock_guard lock(open->mu);
      open->discard();
      return true;
    };
    auto discarded = net::run_blocking(rt_.spill_pool(), ex, std::move(discard));  // named: see async_bridge.hpp
    (void)co_await std::move(discarded);
    co_return;
  }
  const bool last = req.kind == Kind::Commit;
  // Appends the piece (the first one creates the file); the last one is also
  // synced, as the commit requires. Any failure removes the file.
  auto write = [open, &spool, id = req.id, bytes = std::move(req.bytes), last]() mutable -> Result<void> {
    std::lock_guard lock(open->mu);
    if (!open->file || open->file->id() != id) {
      open->discard();
      auto created = spool.create_body(id);
      if (!created) return created.error();
      open->file = std::move(*created);
    }
    Result<void> r = open->file->append(bytes);
    std::string().swap(bytes);  // release the piece here, before the answer travels back
    if (r && last) r = open->file->sync();
    if (!r) open->discard();
    return r;
  };
  auto written = net::run_blocking(rt_.spill_pool(), ex, std::move(write));
  Result<void> result = co_await std::move(written);
  if (!last) {
    session.spill_result(result);
    co_return;
  }
  if (result) {
    std::unique_ptr<queue::BodyFile> body;
    {
      std::lock_guard lock(open->mu);
      body = std::move(open->file);
    }
    auto start = [&spool, head = req.head, shared = std::make_shared<std::unique_ptr<queue::BodyFile>>(std::move(body))](
                     queue::Spool::Callback done) { spool.commit_stored(head, std::move(*shared), std::move(done)); };
    auto committed = net::async_spool_call(ex, std::move(start));
    result = co_await std::move(committed);
    // Durable now: delivery loads the message from disk when its turn comes.
    if (result) rt_.queued_stored(req.id);
  }
  session.commit_result(result);
}

}  // namespace volley::inbound
