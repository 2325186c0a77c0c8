// Whole-file read, for code that reads a file once (recovery scans). Written
// over the FileSystem seam's pread loop, not a second copy of it.
#pragma once

#include <string>

namespace volley {

// The whole file into `out`; false if it cannot be opened or read.
bool read_whole_file(const std::string& path, std::string& out);

}  // namespace volley
