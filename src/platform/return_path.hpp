// The envelope sender (return path) of a message the platform tracks: a
// VERP address (verp.hpp) for the message as a whole, at the domain of its
// From address, so every bounce and complaint that comes back names the
// message it is about and cannot be forged without the platform's secret.
// The API's messages and the campaigns both take their return path here.
#pragma once

#include <string>
#include <string_view>

#include "platform/platform.hpp"
#include "util/result.hpp"

namespace volley::platform {

// Index 0 stands for "the message": one envelope may carry several
// recipients, and a DSN is matched to one of them by its Final-Recipient /
// Original-Recipient against the message's history (a single-recipient
// message's index 0 is that recipient).
inline constexpr uint32_t kVerpWholeMessage = 0;

// The platform's secret as the byte string the token functions take.
std::string_view secret_bytes(const Platform& p);

// `bounces+<queue id>-0-<mac>@<domain of from_address>`; ErrorCode::Invalid
// when the id is not a queue id or the From address has no domain.
Result<std::string> return_path_for(const Platform& p, std::string_view queue_id, std::string_view from_address);

}  // namespace volley::platform
