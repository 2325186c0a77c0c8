// Server TLS contexts (OpenSSL 3 via asio::ssl). Built from [tls]; a new one
// is built on SIGHUP and used for connections accepted after it, so
// certificates can be replaced without a restart.
#pragma once

#include <asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "util/result.hpp"

namespace volley::net {

// `cert`/`key` are resolved paths (configured, or the self-signed pair).
Result<std::shared_ptr<asio::ssl::context>> make_server_tls_context(const std::string& cert, const std::string& key,
                                                                     const std::string& min_version);

}  // namespace volley::net
