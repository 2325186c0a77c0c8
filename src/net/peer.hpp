// The remote end of an accepted connection. Its own header (no Asio) so
// sans-I/O protocol code and its fuzz targets can name it.
#pragma once

#include <cstdint>
#include <string>

#include "net/cidr.hpp"

namespace volley::net {

struct Peer {
  std::string ip;  // text form; IPv4-mapped IPv6 shown as IPv4
  IpAddress address;
  uint16_t port = 0;
};

}  // namespace volley::net
