// Asio and Asio.SSL compiled once (ASIO_SEPARATE_COMPILATION): every other
// translation unit includes only declarations, which keeps builds fast.
#include <asio/impl/src.hpp>
#include <asio/ssl/impl/src.hpp>
