// Small POSIX file helpers shared by the queue stores: the same durability
// and read loops, written once.
#pragma once

#include <cstdint>
#include <string>

namespace volley {

// fsync of a directory, so a created/renamed/removed entry survives a crash.
bool fsync_dir(const std::string& path);
// Reads exactly out.size() bytes at `offset` (retrying short reads and
// EINTR); false if the file ends first or a read fails.
bool read_exact_at(int fd, std::string& out, uint64_t offset);
// The whole file into `out`; false if it cannot be opened or read.
bool read_whole_file(const std::string& path, std::string& out);

}  // namespace volley
