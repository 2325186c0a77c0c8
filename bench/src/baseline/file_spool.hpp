// The simple spool of this milestone: one file per message under
// data_dir/spool/. Durable write, OpenSMTPD-style: open O_EXCL in tmp/,
// write, fdatasync, rename into msg/, fsync the directory, then report Ok.
// Blocking file I/O runs on the spool's own worker threads, never on an I/O
// thread. The file is "VOLLEY-SPOOL 1\n", the envelope (envelope.hpp text
// form), an empty line, then the content byte for byte.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "queue/spool.hpp"
#include "util/result.hpp"

namespace volley::queue {

class FileSpool final : public Spool {
 public:
  // Creates the directories if needed and removes half-written files left in
  // tmp/ by a crash (they were never acknowledged).
  static Result<std::unique_ptr<FileSpool>> open(const std::string& data_dir, unsigned workers = 2);
  ~FileSpool() override;

  void commit(std::shared_ptr<const Message> message, Callback done) override;
  void shutdown() override;

  // The synchronous write used by the workers; public for tests.
  Result<void> write_durably(const Message& message);

  std::vector<std::string> list_ids() const;
  std::optional<Message> read(const std::string& id) const;
  const std::string& directory() const { return dir_; }

 private:
  explicit FileSpool(std::string dir, unsigned workers);
  void worker_loop();

  std::string dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::shared_ptr<const Message>, Callback>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace volley::queue
