// Debian 12 ships Asio 1.22, where as_tuple still lives in experimental.
#pragma once

#include <asio/experimental/as_tuple.hpp>

namespace volley {
using asio::experimental::as_tuple;
}  // namespace volley
