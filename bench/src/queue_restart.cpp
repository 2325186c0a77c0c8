// Fills a fresh queue with N small messages through LogSpool::commit (as
// the SMTP intake would, many in flight at once), closes it, reopens it and
// reports how long recovery took and the process RSS with the index loaded.
//
//   volley_queue_bench DATA_DIR N [SIZE]
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>

#include "queue/log_spool.hpp"
#include "queue/queue_id.hpp"

using namespace volley::queue;
using volley::Result;

static long rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DATA_DIR N [SIZE]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  long n = std::atol(argv[2]);
  size_t size = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 1024;
  if (n > 0) {
    auto spool = LogSpool::open(dir);
    if (!spool) {
      std::fprintf(stderr, "open: %s\n", spool.error().message.c_str());
      return 1;
    }
    std::string content = "Received: from bench ([127.0.0.1])\r\n\tby bench (Volley) with ESMTP; x\r\nSubject: bench\r\n\r\n";
    while (content.size() + 2 < size) content += std::string(std::min<size_t>(76, size - content.size() - 2), 'x') + "\r\n";
    std::mutex mu;
    std::condition_variable cv;
    long done = 0, failed = 0;
    const long window = 20000;  // messages in flight, like many concurrent sessions
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return i - done < window; });
      }
      auto m = std::make_shared<Message>();
      m->envelope.id = make_queue_id();
      m->envelope.sender = "sender@example.org";
      Recipient r;
      r.address = "user" + std::to_string(i % 1000) + "@example.net";
      m->envelope.recipients.push_back(r);
      m->envelope.received_at = 1795000000 + i;
      m->content = content;
      (*spool)->commit(m, [&](Result<void> res) {
        std::lock_guard lock(mu);
        ++done;
        if (!res) ++failed;
        cv.notify_all();
      });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done == n; });
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto st = (*spool)->commit_stats();
    std::printf("filled      : %ld messages of %zu bytes in %.1f s (%.0f msg/s, %llu fdatasyncs, %.0f records per sync), %ld failed\n",
                n, content.size(), secs, n / secs, static_cast<unsigned long long>(st.batches),
                st.batches ? double(st.records) / double(st.batches) : 0.0, failed);
  }
  long before = rss_kb();
  auto t0 = std::chrono::steady_clock::now();
  auto spool = LogSpool::open(dir);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!spool) {
    std::fprintf(stderr, "reopen: %s\n", spool.error().message.c_str());
    return 1;
  }
  const auto& rec = (*spool)->recovery();
  std::printf("reopened    : %zu messages, %zu segments, %.1f MB read in %.2f s\n", rec.messages, rec.segments,
              rec.bytes / 1e6, secs);
  std::printf("index RSS   : %.1f MB (process %.1f MB, %.0f bytes per queued message)\n", (rss_kb() - before) / 1024.0,
              rss_kb() / 1024.0, (rss_kb() - before) * 1024.0 / double(rec.messages ? rec.messages : 1));
  std::printf("target      : open in < 30 s -> %s\n", secs < 30 ? "PASS" : "FAIL");
  return n == 0 || rec.messages == static_cast<size_t>(n) ? 0 : 1;
}
