// POP3 load client for bench/pop3: CLIENTS threads, each with one POP3
// connection over implicit TLS (POP3S) at a time, blocking I/O. Written in
// C++ because a Python client saturates before the servers do; its own CPU
// time is reported so the script can show it was not the bottleneck.
//
//   pop3_load login HOST PORT USERS CLIENTS SECONDS
//     each client loops: connect, TLS handshake (full: no session
//     resumption), USER/PASS, QUIT — for SECONDS; counts completed logins.
//   pop3_load retr HOST PORT USERS CLIENTS
//     client i logs in as user i, STAT, RETR 1..n one after the other
//     (each reply read to its terminating dot), QUIT without DELE.
//
// USERS: one "user password" per line; client i uses line i mod count.
// Prints one JSON object: {"mode", "ops", "errors", "first_error",
// "seconds", "bytes", "cpu_seconds"}; exit status 0 unless it could not run.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Shared {
  std::string host;
  int port = 0;
  SSL_CTX* ctx = nullptr;
  std::atomic<long> ops{0}, errors{0}, bytes{0};
  std::mutex mu;
  std::string first_error;

  void fail(const std::string& what) {
    errors++;
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.empty()) first_error = what;
  }
};

// One TLS connection with a read buffer.
class Conn {
 public:
  explicit Conn(Shared& s) : s_(s) {}
  ~Conn() { close(); }

  bool open() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(s_.port));
    ::inet_pton(AF_INET, s_.host.c_str(), &addr.sin_addr);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return err("connect: " + std::string(strerror(errno)));
    ssl_ = SSL_new(s_.ctx);
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) return err("TLS handshake failed");
    std::string greeting;
    return ok_line(greeting, "greeting");
  }

  void close() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    ssl_ = nullptr;
    fd_ = -1;
    buf_.clear();
    pos_ = 0;
  }

  // Sends `line` + CRLF and expects a "+OK" status line.
  bool command(const std::string& line, std::string* status = nullptr) {
    std::string out = line + "\r\n";
    if (SSL_write(ssl_, out.data(), static_cast<int>(out.size())) <= 0) return err("write failed: " + line);
    std::string got;
    if (!ok_line(got, line)) return false;
    if (status) *status = got;
    return true;
  }

  // After a "+OK" status line: the multi-line body up to the dot line.
  bool body(size_t& size) {
    for (;;) {
      // The terminator: ".\r\n" at the start of a line (the status line's CRLF
      // was consumed, so at pos_ we are at a line start).
      if (buf_.compare(pos_, 3, ".\r\n") == 0) {
        pos_ += 3;
        size = 0;
        return true;
      }
      size_t end = buf_.find("\r\n.\r\n", pos_);
      if (end != std::string::npos) {
        size = end + 2 - pos_;
        pos_ = end + 5;
        compact();
        return true;
      }
      if (!fill()) return err("connection closed inside a multi-line reply");
    }
  }

 private:
  bool err(const std::string& what) {
    s_.fail(what);
    return false;
  }

  bool fill() {
    char tmp[65536];
    int n = SSL_read(ssl_, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    s_.bytes += n;
    return true;
  }

  void compact() {
    if (pos_ > (1u << 20) || pos_ == buf_.size()) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
  }

  bool ok_line(std::string& line, const std::string& after) {
    size_t end;
    while ((end = buf_.find("\r\n", pos_)) == std::string::npos)
      if (!fill()) return err("connection closed after " + after);
    line.assign(buf_, pos_, end - pos_);
    pos_ = end + 2;
    compact();
    if (line.compare(0, 3, "+OK") != 0) return err(after.substr(0, after.find(' ')) + ": " + line);
    return true;
  }

  Shared& s_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buf_;
  size_t pos_ = 0;
};

using User = std::pair<std::string, std::string>;

bool login(Conn& c, const User& u) {
  return c.open() && c.command("USER " + u.first) && c.command("PASS " + u.second);
}

void login_loop(Shared& s, const User& u, std::chrono::steady_clock::time_point until) {
  while (std::chrono::steady_clock::now() < until) {
    Conn c(s);
    if (login(c, u) && c.command("QUIT")) s.ops++;
  }
}

void retr_all(Shared& s, const User& u) {
  Conn c(s);
  std::string stat;
  if (!login(c, u) || !c.command("STAT", &stat)) return;
  long n = std::strtol(stat.c_str() + 3, nullptr, 10);
  for (long i = 1; i <= n; i++) {
    size_t size = 0;
    if (!c.command("RETR " + std::to_string(i)) || !c.body(size)) return;
    s.ops++;
  }
  c.command("QUIT");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6 || (std::string(argv[1]) == "login" && argc < 7)) {
    std::fprintf(stderr, "usage: %s login|retr HOST PORT USERS CLIENTS [SECONDS]\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  Shared s;
  s.host = argv[2];
  s.port = std::atoi(argv[3]);
  std::vector<User> users;
  std::ifstream in(argv[4]);
  for (std::string u, p; in >> u >> p;) users.emplace_back(u, p);
  int clients = std::atoi(argv[5]);
  if (users.empty() || clients <= 0) {
    std::fprintf(stderr, "no users or no clients\n");
    return 2;
  }
  s.ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(s.ctx, SSL_VERIFY_NONE, nullptr);  // both servers pay the same; the client's cost stays low
  SSL_CTX_set_session_cache_mode(s.ctx, SSL_SESS_CACHE_OFF);  // every login a full handshake

  auto start = std::chrono::steady_clock::now();
  auto until = std::chrono::time_point_cast<std::chrono::steady_clock::duration>(
      start + std::chrono::duration<double>(mode == "login" ? std::atof(argv[6]) : 0.0));
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; i++) {
    const User& u = users[static_cast<size_t>(i) % users.size()];
    if (mode == "login")
      threads.emplace_back(login_loop, std::ref(s), std::cref(u), until);
    else
      threads.emplace_back(retr_all, std::ref(s), std::cref(u));
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::string fe;
  for (char ch : s.first_error) fe += (ch == '"' || ch == '\\') ? '\'' : (ch < 0x20 ? ' ' : ch);
  std::printf("{\"mode\": \"%s\", \"ops\": %ld, \"errors\": %ld, \"first_error\": \"%s\", \"seconds\": %.4f, "
              "\"bytes\": %ld, \"cpu_seconds\": %.4f}\n",
              mode.c_str(), s.ops.load(), s.errors.load(), fe.c_str(), seconds, s.bytes.load(), cpu);
  SSL_CTX_free(s.ctx);
  return 0;
}
