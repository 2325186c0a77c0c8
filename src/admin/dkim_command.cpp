#include "admin/dkim_command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>

#include "dkim/keygen.hpp"
#include "util/strings.hpp"

namespace volley::admin {

namespace {

// mkdir -p with mode 0700 for every directory it creates (existing ones are
// left as they are: /etc or a data_dir belong to their owner).
Result<void> make_parents(const std::filesystem::path& dir) {
  if (dir.empty()) return {};
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
      return Error{ErrorCode::Io, "cannot create " + partial.string() + ": " + std::strerror(errno)};
  }
  return {};
}

// Writes `text` to a new file with mode 0600, durably (fsync file and dir).
Result<void> write_new_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Error{ErrorCode::AlreadyExists, path + " exists; not overwriting a key (remove it first)"};
    return Error{ErrorCode::Io, "cannot create " + path + ": " + std::strerror(errno)};
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return Error{ErrorCode::Io, "cannot write " + path + ": " + std::strerror(e)};
    }
    done += static_cast<size_t>(n);
  }
  // 0600 whatever the umask; the key is secret.
  bool ok = ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  int e = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Error{ErrorCode::Io, "cannot write " + path + ": " + std::strerror(e)};
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace

int run_dkim_keygen(const DkimKeygenOptions& opts, const std::string& data_dir, std::ostream& out,
                    std::ostream& err) {
  auto fail = [&](const std::string& reason) {
    err << "volley: dkim keygen: " << reason << "\n";
    return 1;
  };
  if (!dkim::valid_dns_name(opts.domain)) return fail(concat("bad --domain ", volley::quoted(opts.domain)));
  if (!dkim::valid_dns_name(opts.selector)) return fail(concat("bad --selector ", volley::quoted(opts.selector)));
  dkim::Algorithm alg;
  if (opts.algorithm == "rsa" || opts.algorithm == "rsa-sha256") alg = dkim::Algorithm::RsaSha256;
  else if (opts.algorithm == "ed25519" || opts.algorithm == "ed25519-sha256") alg = dkim::Algorithm::Ed25519Sha256;
  else return fail("--algorithm must be rsa or ed25519");
  const std::string domain = to_lower(opts.domain);
  std::string path = opts.out;
  if (path.empty()) path = (std::filesystem::path(data_dir) / "dkim" / (domain + "." + opts.selector + ".pem")).string();
  if (std::filesystem::exists(path)) return fail(path + " exists; not overwriting a key (remove it first)");

  auto key = dkim::generate_key(alg, opts.bits);
  if (!key) return fail(key.error().message);
  auto pem = dkim::private_key_pem(*key.value());
  if (!pem) return fail(pem.error().message);
  auto record = dkim::key_record_text(*key.value());
  if (!record) return fail(record.error().message);
  if (auto made = make_parents(std::filesystem::path(path).parent_path()); !made) return fail(made.error().message);
  if (auto written = write_new_file(path, pem.value()); !written) return fail(written.error().message);
  err << "volley: dkim keygen: wrote " << dkim::algorithm_name(alg) << " key " << path << "; publish:\n";
  out << dkim::dns_record_line(opts.selector, domain, record.value()) << "\n";
  return 0;
}

}  // namespace volley::admin
