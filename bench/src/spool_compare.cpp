// Compares durable-store designs for the queue under the same load: W
// writer threads (as concurrent SMTP sessions), each committing 4 KB
// messages one after another and waiting for the durability ack.
//   file   : one file per message (open O_EXCL, write, fdatasync, rename, fsync dir) — FileSpool
//   log    : append-only segment log with one committer and group commit — LogSpool
//   sqlite : SQLite WAL, synchronous=FULL, one committer thread batching
//            every waiting insert into one transaction (its group commit)
// Prints msg/s, ack latency p50/p99, bytes written to disk per message
// (write amplification, from /proc/self/io) and the time to reopen.
//
//   volley_spool_compare DIR [writers] [seconds] [size]
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "baseline/file_spool.hpp"
#include "queue/log_spool.hpp"
#include "queue/queue_id.hpp"

using namespace volley::queue;
using volley::ErrorCode;
using volley::make_error;

using Clock = std::chrono::steady_clock;

static uint64_t write_bytes() {
  std::ifstream f("/proc/self/io");
  std::string k;
  uint64_t v;
  while (f >> k >> v)
    if (k == "write_bytes:") return v;
  return 0;
}

// SQLite with a committer thread: the same group-commit idea as the log.
class SqliteSpool final : public Spool {
 public:
  explicit SqliteSpool(const std::string& path) {
    sqlite3_open(path.c_str(), &db_);
    sqlite3_exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "CREATE TABLE IF NOT EXISTS q(id TEXT PRIMARY KEY, env BLOB, content BLOB)", nullptr, nullptr, nullptr);
    sqlite3_prepare_v2(db_, "INSERT INTO q VALUES(?,?,?)", -1, &ins_, nullptr);
    thread_ = std::thread([this] { loop(); });
  }
  ~SqliteSpool() override {
    shutdown();
    sqlite3_finalize(ins_);
    sqlite3_close(db_);
  }
  void commit(std::shared_ptr<const Message> m, Callback done) override {
    std::lock_guard l(mu_);
    jobs_.emplace_back(std::move(m), std::move(done));
    cv_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    for (;;) {
      std::vector<std::pair<std::shared_ptr<const Message>, Callback>> batch;
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        batch.swap(jobs_);
      }
      sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
      for (auto& [m, cb] : batch) {
        std::string env = serialize_envelope(m->envelope);
        sqlite3_bind_text(ins_, 1, m->envelope.id.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins_, 2, env.data(), static_cast<int>(env.size()), SQLITE_TRANSIENT);
        sqlite3_bind_blob(ins_, 3, m->content.data(), static_cast<int>(m->content.size()), SQLITE_STATIC);
        sqlite3_step(ins_);
        sqlite3_reset(ins_);
      }
      int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
      for (auto& [m, cb] : batch) cb(rc == SQLITE_OK ? volley::Result<void>{} : volley::Result<void>{make_error(ErrorCode::Io, "sqlite commit failed")});
    }
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* ins_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::shared_ptr<const Message>, Callback>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

struct Result {
  double rate, p50_ms, p99_ms, bytes_per_msg, reopen_s;
  long n;
};

Result run(Spool& spool, int writers, double seconds, size_t size) {
  std::string content = "Subject: bench\r\n\r\n";
  while (content.size() < size) content += std::string(76, 'x') + "\r\n";
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<double> lat;
  uint64_t wb0 = write_bytes();
  auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int w = 0; w < writers; ++w)
    ts.emplace_back([&] {
      std::vector<double> mine;
      while (!stop) {
        auto m = std::make_shared<Message>();
        m->envelope.id = make_queue_id();
        m->envelope.sender = "s@example.org";
        m->envelope.recipients.push_back(Recipient{"r@example.net", "r@example.net", 0, "", "", RecipientState::Pending});
        m->content = content;
        std::promise<void> p;
        auto s = Clock::now();
        spool.commit(m, [&](volley::Result<void>) { p.set_value(); });
        p.get_future().wait();
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      }
      std::lock_guard l(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  double el = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(lat.begin(), lat.end());
  Result r{};
  r.n = static_cast<long>(lat.size());
  r.rate = r.n / el;
  r.p50_ms = lat.empty() ? 0 : lat[lat.size() / 2];
  r.p99_ms = lat.empty() ? 0 : lat[lat.size() * 99 / 100];
  r.bytes_per_msg = r.n ? double(write_bytes() - wb0) / r.n : 0;
  return r;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string dir = argv[1];
  int writers = argc > 2 ? std::atoi(argv[2]) : 50;
  double seconds = argc > 3 ? std::atof(argv[3]) : 5;
  size_t size = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 4096;
  std::printf("%-7s %10s %9s %9s %14s %10s\n", "store", "msg/s", "p50 ms", "p99 ms", "disk B/msg", "reopen s");
  for (std::string kind : {"file", "log", "sqlite"}) {
    std::string d = dir + "/" + kind;
    std::filesystem::create_directories(d);
    Result r;
    {
      std::unique_ptr<Spool> s;
      if (kind == "file") s = std::move(FileSpool::open(d, 8).value());
      if (kind == "log") s = std::move(LogSpool::open(d).value());
      if (kind == "sqlite") s = std::make_unique<SqliteSpool>(d + "/q.db");
      r = run(*s, writers, seconds, size);
      s->shutdown();
    }
    ::sync();
    auto t0 = Clock::now();
    size_t found = 0;
    if (kind == "file") {
      auto s = FileSpool::open(d, 1).value();
      for (auto& id : s->list_ids()) found += s->read(id).has_value();
    } else if (kind == "log") {
      found = LogSpool::open(d).value()->count();
    } else {
      sqlite3* db;
      sqlite3_open((d + "/q.db").c_str(), &db);
      sqlite3_stmt* st;
      sqlite3_prepare_v2(db, "SELECT id, env FROM q", -1, &st, nullptr);
      while (sqlite3_step(st) == SQLITE_ROW) ++found;
      sqlite3_finalize(st);
      sqlite3_close(db);
    }
    r.reopen_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("%-7s %10.0f %9.2f %9.2f %14.0f %10.3f   (%ld messages, %zu found on reopen)\n", kind.c_str(), r.rate,
                r.p50_ms, r.p99_ms, r.bytes_per_msg, r.reopen_s, r.n, found);
  }
  return 0;
}
