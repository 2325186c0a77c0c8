#include "platform/return_path.hpp"

#include "platform/delivery_events.hpp"
#include "platform/verp.hpp"

namespace volley::platform {

std::string_view secret_bytes(const Platform& p) {
  return std::string_view(reinterpret_cast<const char*>(p.secret().data()), p.secret().size());
}

Result<std::string> return_path_for(const Platform& p, std::string_view queue_id, std::string_view from_address) {
  return bounce_address(secret_bytes(p), queue_id, kVerpWholeMessage, domain_of(from_address));
}

}  // namespace volley::platform
