#include "net/self_signed.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace volley::net {
namespace {
struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(FILE* f) const { std::fclose(f); }
};
template <class T>
using Owned = std::unique_ptr<T, Deleter>;

bool add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

Result<void> write_pem(const std::string& path, mode_t mode, bool is_key, EVP_PKEY* key, X509* cert) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return make_error("cannot create " + tmp + ": " + std::strerror(errno));
  Owned<FILE> f(::fdopen(fd, "w"));
  if (!f) {
    ::close(fd);
    return make_error("cannot open " + tmp);
  }
  int ok = is_key ? PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                  : PEM_write_X509(f.get(), cert);
  if (ok != 1 || std::fflush(f.get()) != 0 || ::fsync(::fileno(f.get())) != 0)
    return make_error("cannot write " + tmp);
  f.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return make_error("cannot rename " + tmp + ": " + std::strerror(errno));
  return {};
}
}  // namespace

Result<CertPaths> ensure_self_signed(const std::string& data_dir, const std::string& hostname) {
  std::string dir = data_dir + "/tls";
  CertPaths paths{dir + "/cert.pem", dir + "/key.pem", false};
  if (::access(paths.cert.c_str(), R_OK) == 0 && ::access(paths.key.c_str(), R_OK) == 0) return paths;
  ::mkdir(data_dir.c_str(), 0700);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return make_error("cannot create " + dir + ": " + std::strerror(errno));

  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return make_error("cannot generate a TLS key");
  Owned<X509> cert(X509_new());
  if (!cert) return make_error("cannot allocate a certificate");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  std::FILE* ur = std::fopen("/dev/urandom", "rb");
  if (!ur || std::fread(serial, 1, sizeof serial, ur) != sizeof serial) {
    if (ur) std::fclose(ur);
    return make_error("cannot read /dev/urandom");
  }
  std::fclose(ur);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Volley self-signed"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = "DNS:" + hostname;
  if (hostname != "localhost") san += ",DNS:localhost";
  san += ",IP:127.0.0.1,IP:::1";
  if (!add_extension(cert.get(), NID_subject_alt_name, san) ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth"))
    return make_error("cannot add certificate extensions");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return make_error("cannot sign the certificate");

  if (auto r = write_pem(paths.key, 0600, true, key.get(), nullptr); !r) return r.error();
  // 0600 like everything under data_dir: the daemon is its only reader.
  if (auto r = write_pem(paths.cert, 0600, false, nullptr, cert.get()); !r) return r.error();
  paths.generated = true;
  return paths;
}

}  // namespace volley::net
