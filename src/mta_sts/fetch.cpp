#include "mta_sts/fetch.hpp"

#include <curl/curl.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "mta_sts/limits.hpp"

namespace volley::mta_sts {
namespace {

struct Body {
  std::string text;
  bool too_big = false;
};

size_t on_data(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<Body*>(user);
  const size_t n = size * nmemb;
  if (body->text.size() + n > limits::kMaxPolicyBytes) {
    body->too_big = true;
    return 0;  // aborts the transfer
  }
  body->text.append(ptr, n);
  return n;
}

// libcurl's progress callback: non-zero aborts the transfer.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancel = static_cast<const std::atomic<bool>*>(user);
  return cancel && cancel->load() ? 1 : 0;
}

void init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

std::string policy_host(const std::string& policy_domain) { return "mta-sts." + policy_domain; }

Result<std::string> fetch_policy(const std::string& policy_domain, const FetchOptions& options) {
  init_once();
  if (options.addresses.empty()) return make_error(ErrorCode::Temporary, "no address for " + policy_host(policy_domain));
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return make_error(ErrorCode::Io, "cannot start an HTTPS request");
  const std::string host = policy_host(policy_domain);
  const std::string port = std::to_string(options.port);
  const std::string url = "https://" + host + ":" + port + "/.well-known/mta-sts.txt";
  // Pin the resolved addresses: "host:port:addr1,addr2" (IPv6 in brackets).
  std::string pinned = host + ":" + port + ":";
  for (size_t i = 0; i < options.addresses.size(); ++i) {
    const std::string& a = options.addresses[i];
    pinned += (i ? "," : "") + (a.find(':') != std::string::npos ? "[" + a + "]" : a);
  }
  std::unique_ptr<curl_slist, SlistDeleter> resolve(curl_slist_append(nullptr, pinned.c_str()));
  Body body;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // RFC 8461 3.3: no redirects
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  // "" = the system store, or SSL_CERT_FILE when set: OpenSSL's default
  // verify paths honour it (so MX certificates are checked against it),
  // libcurl does not, so it is passed on explicitly.
  const char* env_ca = std::getenv("SSL_CERT_FILE");
  const std::string ca = !options.ca_file.empty() ? options.ca_file : env_ca ? std::string(env_ca) : std::string();
  if (!ca.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM
  curl_easy_setopt(c, CURLOPT_USERAGENT, "Volley MTA-STS");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // never through a proxy from the environment
  if (options.cancel) {
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, options.cancel);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  }
  const CURLcode rc = curl_easy_perform(c);
  if (body.too_big) return make_error(ErrorCode::Invalid, "policy at " + host + " is larger than 64 KiB");
  if (rc != CURLE_OK) {
    const std::string why = std::string("fetching the policy from ") + host + " failed: " + curl_easy_strerror(rc);
    // A certificate that does not validate is the policy host's fault, not
    // the network's: say so (it is still "no usable policy" to the caller).
    const bool tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
                     rc == CURLE_SSL_CONNECT_ERROR;
    return make_error(tls ? ErrorCode::Invalid : ErrorCode::Temporary, why);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200)
    return make_error(ErrorCode::Invalid, "policy at " + host + " answered HTTP " + std::to_string(status));
  return std::move(body.text);
}

}  // namespace volley::mta_sts
