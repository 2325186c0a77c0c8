// The development instance's certificate: on first start, generate an EC
// P-256 key and a self-signed certificate for the hostname (plus localhost and
// 127.0.0.1) under data_dir/tls/, key mode 0600. Later starts reuse them.
#pragma once

#include <string>

#include "util/result.hpp"

namespace volley::net {

struct CertPaths {
  std::string cert;
  std::string key;
  bool generated = false;  // true when this call created them
};

Result<CertPaths> ensure_self_signed(const std::string& data_dir, const std::string& hostname);

}  // namespace volley::net
