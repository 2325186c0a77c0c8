// A large message's body, streamed to its own file in the queue directory
// (data_dir/queue/body-<queue id>) while the client is still sending it, so
// no session has to hold a whole large message in memory.
//
// The file is not part of the queue until LogSpool::commit_stored() has made
// the StoredMessage record that refers to it durable; until then it is an
// orphan that the owner removes on abort (discard(), or the destructor) and
// that LogSpool's recovery removes after a crash.
//
// Every call blocks on the disk: run them off the I/O threads. Not
// thread-safe: one owner at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/file_system.hpp"
#include "util/result.hpp"

namespace volley::queue {

class LogSpool;

class BodyFile {
 public:
  ~BodyFile();  // not committed: the file is removed
  BodyFile(const BodyFile&) = delete;
  BodyFile& operator=(const BodyFile&) = delete;

  // Appends bytes at the end of the body (and to its CRC).
  Result<void> append(std::string_view bytes);
  // fdatasync: required before the body can be committed.
  Result<void> sync();
  // Closes and removes the file now (idempotent; errors go to the log).
  void discard();

  const std::string& id() const { return id_; }
  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  uint32_t crc() const { return crc_; }
  bool synced() const { return synced_; }

 private:
  friend class LogSpool;
  BodyFile(FileSystem& fs, std::string id, std::string path, int fd);
  // Committed: the spool's record owns the file now; close, keep it.
  void keep();

  FileSystem& fs_;
  std::string id_;
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint32_t crc_ = 0;
  bool synced_ = false;
  bool failed_ = false;  // a write failed: the content is incomplete
  bool kept_ = false;
};

// "body-<id>": the body file's name inside the queue directory.
std::string body_file_name(const std::string& id);
inline constexpr std::string_view kBodyFilePrefix = "body-";

}  // namespace volley::queue
