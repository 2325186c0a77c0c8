// fetch_policy against a private HTTPS server on loopback (`openssl
// s_server -WWW`, serving files from a temporary directory) with a test CA:
// a good policy is fetched; a certificate for another name, an unknown CA,
// a missing file, an oversized policy and a dead port give no policy, with
// a reason.
#include "mta_sts/fetch.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mta_sts/policy.hpp"
#include "temp_dir.hpp"

namespace volley::mta_sts {
namespace {

bool run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

uint16_t free_port() {
  // A port from the ephemeral range that nobody listens on right now.
  static uint16_t next = static_cast<uint16_t>(20000 + (::getpid() % 20000));
  return next++;
}

class HttpsServer {
 public:
  // Serves `root` with a certificate for `cert_name` signed by the test CA in `dir`.
  HttpsServer(const std::string& dir, const std::string& root, const std::string& cert_name) : port_(free_port()) {
    const std::string key = dir + "/" + cert_name + ".key", crt = dir + "/" + cert_name + ".crt";
    if (!run("openssl req -new -newkey rsa:2048 -nodes -keyout " + key + " -subj /CN=" + cert_name + " -out " + key +
             ".csr") ||
        !run("printf 'subjectAltName=DNS:" + cert_name + "' > " + key + ".ext") ||
        !run("openssl x509 -req -in " + key + ".csr -CA " + dir + "/ca.crt -CAkey " + dir +
             "/ca.key -CAcreateserial -days 1 -extfile " + key + ".ext -out " + crt))
      throw std::runtime_error("cannot make a test certificate (is openssl installed?)");
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::chdir(root.c_str()) != 0) ::_exit(127);
      ::execlp("openssl", "openssl", "s_server", "-quiet", "-WWW", "-accept", std::to_string(port_).c_str(), "-cert",
               crt.c_str(), "-key", key.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Wait until s_server listens (a loaded CI machine may take a while).
    for (int i = 0; i < 200 && !listening(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~HttpsServer() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  uint16_t port() const { return port_; }
  bool listening() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
};

struct MtaStsFetch : ::testing::Test {
  test::TempDir dir{"mtasts"};
  std::string root;
  void SetUp() override {
    ASSERT_TRUE(run("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=Volley-Test-CA -keyout " + dir.path +
                    "/ca.key -out " + dir.path + "/ca.crt"));
    root = dir.path + "/www";
    std::filesystem::create_directories(root + "/.well-known");
  }
  void publish(const std::string& text) { std::ofstream(root + "/.well-known/mta-sts.txt") << text; }
  FetchOptions options(uint16_t port) {
    FetchOptions o;
    o.addresses = {"127.0.0.1"};
    o.port = port;
    o.timeout = std::chrono::seconds(10);
    o.ca_file = dir.path + "/ca.crt";
    return o;
  }
};

constexpr const char* kPolicy = "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 86400\n";

TEST_F(MtaStsFetch, GoodPolicyIsFetched) {
  publish(kPolicy);
  HttpsServer server(dir.path, root, "mta-sts.example.test");
  auto r = fetch_policy("example.test", options(server.port()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->find("mode: enforce"), std::string::npos) << *r;
}

TEST_F(MtaStsFetch, CertificateForAnotherNameIsRefused) {
  publish(kPolicy);
  HttpsServer server(dir.path, root, "mta-sts.other.test");
  auto r = fetch_policy("example.test", options(server.port()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Invalid) << r.error().message;
}

TEST_F(MtaStsFetch, UnknownCaIsRefused) {
  publish(kPolicy);
  HttpsServer server(dir.path, root, "mta-sts.example.test");
  auto o = options(server.port());
  o.ca_file = "";  // the system store does not know the test CA
  EXPECT_FALSE(fetch_policy("example.test", o));
}

TEST_F(MtaStsFetch, MissingPolicyGivesNoPolicy) {
  // s_server -WWW answers a missing file with an error text (a real web
  // server with 404: fetch_policy refuses any status but 200); either way
  // there is no usable policy.
  HttpsServer server(dir.path, root, "mta-sts.example.test");
  auto r = fetch_policy("example.test", options(server.port()));
  EXPECT_TRUE(!r || !parse_policy(*r)) << *r;
}

TEST_F(MtaStsFetch, OversizedPolicyIsRefused) {
  std::string big = kPolicy;
  while (big.size() < 80 * 1024) big += "mx: filler.example.test\n";
  publish(big);
  HttpsServer server(dir.path, root, "mta-sts.example.test");
  auto r = fetch_policy("example.test", options(server.port()));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("64 KiB"), std::string::npos) << r.error().message;
}

TEST_F(MtaStsFetch, NobodyListeningIsTemporary) {
  auto r = fetch_policy("example.test", options(free_port()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Temporary) << r.error().message;
}

}  // namespace
}  // namespace volley::mta_sts
