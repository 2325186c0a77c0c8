#include "util/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "util/file_system.hpp"

namespace volley {

bool read_whole_file(const std::string& path, std::string& out) {
  FileSystem& fs = posix_file_system();
  auto fd = fs.open(path, O_RDONLY, 0);
  if (!fd) return false;
  struct stat st {};
  bool ok = ::fstat(*fd, &st) == 0;
  if (ok) {
    auto data = fs.pread_exact(*fd, static_cast<size_t>(st.st_size), 0);
    ok = data.ok();
    if (ok) out = std::move(*data);
  }
  (void)fs.close(*fd);  // read-only: nothing to lose
  return ok;
}

}  // namespace volley
