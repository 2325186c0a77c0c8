#include "net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace volley::net {
namespace {
std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}
}  // namespace

Result<std::shared_ptr<asio::ssl::context>> make_server_tls_context(const std::string& cert, const std::string& key,
                                                                     const std::string& min_version) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  int min = min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(native, min) != 1) return make_error("tls.min_version: " + openssl_error());
  // No compression (CRIME), no client-initiated renegotiation (CPU DoS),
  // server cipher preference; OpenSSL 3 defaults are otherwise sound.
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);  // idle TLS connections keep no record buffers
  static const unsigned char kSessionContext[] = "volley";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  if (SSL_CTX_use_certificate_chain_file(native, cert.c_str()) != 1)
    return make_error("tls.cert: cannot load " + cert + ": " + openssl_error());
  if (SSL_CTX_use_PrivateKey_file(native, key.c_str(), SSL_FILETYPE_PEM) != 1)
    return make_error("tls.key: cannot load " + key + ": " + openssl_error());
  if (SSL_CTX_check_private_key(native) != 1) return make_error("tls.key: does not match tls.cert");
  return ctx;
}

}  // namespace volley::net
