// Wall-clock milliseconds: due times are stored on disk (envelope
// next_attempt) and must survive a restart, so they are not steady_clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace volley::delivery {

inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace volley::delivery
