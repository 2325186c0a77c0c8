// Wall-clock milliseconds: due times are stored on disk (envelope
// next_attempt) and must survive a restart, so they are not steady_clock.
// Through volley::Clock, the one seam for time (src/util/clock.hpp).
#pragma once

#include <cstdint>

#include "util/clock.hpp"

namespace volley::delivery {

inline int64_t now_ms() { return volley::system_clock().unix_ms(); }

}  // namespace volley::delivery
