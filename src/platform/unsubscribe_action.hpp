// What an unsubscribe does, however it arrives (RFC 8058 one-click POST, the
// confirm button of the GET page, or a mail to the List-Unsubscribe mailto:
// address): the recipient is suppressed for the sender domain the token
// names, and one `unsubscribed` event is appended for the campaign.
#pragma once

#include <cstdint>
#include <string_view>

#include "platform/platform.hpp"
#include "platform/unsubscribe_token.hpp"
#include "util/result.hpp"

namespace volley::platform {

// Idempotent: the suppression is replaced and the event carries a dedup key
// (domain, address, campaign), so a second click or a replayed mail changes
// nothing. The suppression is written first, so whoever reads the event
// finds the address already suppressed. `via` says how it arrived
// ("one-click", "page", "mailto") for the suppression's detail and the event.
Result<void> record_unsubscribe(Platform& p, const UnsubscribeFields& who, int64_t now, std::string_view via);

}  // namespace volley::platform
