#include "admin/admin_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "admin/admin_protocol.hpp"
#include "admin/queue_command.hpp"
#include "util/strings.hpp"

namespace volley::admin {
namespace {

// A big queue listed in full can be a large answer; beyond this the user is
// better served by --limit or a filter than by a CLI eating the memory.
constexpr size_t kMaxResponseBytes = 256u << 20;
// list/show on a large queue may take a while; a daemon that says nothing
// for this long is stuck, and the operator should hear about it.
constexpr int kReplyTimeoutSeconds = 120;

// Writes all of `bytes`. False with `error` set on failure; a peer that
// hung up (EPIPE, ECONNRESET) is not an error the caller reports yet: the
// daemon may have refused the request and said why.
bool send_all(int fd, std::string_view bytes, std::string& error, bool& peer_gone) {
  for (size_t sent = 0; sent < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      peer_gone = true;
      return true;
    }
    if (n < 0) {
      error = concat("sending the request to the daemon failed: ", std::strerror(errno));
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Result<std::string> exchange(const std::string& path, std::string_view request, std::string_view payload) {
  const std::string unreachable = concat("cannot reach the running daemon at ", path, ": ");
  if (path.size() >= sizeof(sockaddr_un::sun_path)) return make_error(unreachable + "path too long for a Unix socket");
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(unreachable + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{kReplyTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int err = errno;
    // The usual case: no daemon. Say so, not only what connect() said.
    if (err == ENOENT || err == ECONNREFUSED)
      return make_error(concat(unreachable, "volley is not running (", std::strerror(err), ")"));
    return make_error(unreachable + std::strerror(err));
  }

  std::string error;
  bool peer_gone = false;
  const std::string line = concat(request, "\n");
  if (!send_all(fd, line, error, peer_gone)) return make_error(error);
  if (!peer_gone && !payload.empty() && !send_all(fd, payload, error, peer_gone)) return make_error(error);

  std::string answer;
  char buf[65536];
  for (;;) {
    size_t nl = answer.find('\n');
    if (nl != std::string::npos) {
      answer.resize(nl);
      return answer;
    }
    if (answer.size() > kMaxResponseBytes) return make_error("the daemon's answer is too large; narrow it with --limit, --state or --domain");
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return make_error("no answer from the daemon within " + std::to_string(kReplyTimeoutSeconds) + "s");
    if (n < 0 && errno == ECONNRESET && peer_gone) return make_error("the daemon closed the connection without answering");
    if (n < 0) return make_error("reading the daemon's answer failed: " + std::string(std::strerror(errno)));
    if (n == 0) return make_error("the daemon closed the connection without answering");
    answer.append(buf, static_cast<size_t>(n));
  }
}

Result<nlohmann::ordered_json> call_daemon(const std::string& data_dir, std::string_view request, std::string_view payload) {
  using json = nlohmann::ordered_json;
  auto raw = exchange(socket_path(data_dir), request, payload);
  if (!raw) return raw.error();
  json answer = json::parse(raw.value(), nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("ok") || !answer["ok"].is_boolean())
    return make_error("unreadable answer from the daemon");
  if (!answer["ok"].get<bool>()) {
    auto it = answer.find("error");
    return make_error(it != answer.end() && it->is_string() ? terminal_safe(it->get<std::string>())
                                                            : std::string("the daemon refused the request"));
  }
  return answer;
}

}  // namespace volley::admin
