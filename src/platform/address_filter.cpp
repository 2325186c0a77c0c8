#include "platform/address_filter.hpp"

#include <algorithm>

namespace volley::platform {
namespace {

// Two independent 64-bit hashes (FNV-1a with two offset bases, finished
// with a mixer) for double hashing: probe i is h1 + i * h2.
uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint64_t fnv1a(std::string_view s, uint64_t basis) {
  uint64_t h = basis;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix(h);
}

}  // namespace

AddressFilter::AddressFilter(size_t capacity) : capacity_(std::max<size_t>(capacity, 64)) {
  const uint64_t bits = static_cast<uint64_t>(capacity_) * 10;  // ~1% false positives with 7 probes
  words_.assign((bits + 63) / 64, 0);
  bits_ = words_.size() * 64;
}

void AddressFilter::insert(std::string_view address) {
  const uint64_t h1 = fnv1a(address, 0xcbf29ce484222325ULL), h2 = fnv1a(address, 0x84222325cbf29ce4ULL) | 1;
  for (unsigned i = 0; i < kProbes; ++i) {
    const uint64_t bit = (h1 + i * h2) % bits_;
    words_[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  ++inserted_;
}

bool AddressFilter::may_contain(std::string_view address) const {
  const uint64_t h1 = fnv1a(address, 0xcbf29ce484222325ULL), h2 = fnv1a(address, 0x84222325cbf29ce4ULL) | 1;
  for (unsigned i = 0; i < kProbes; ++i) {
    const uint64_t bit = (h1 + i * h2) % bits_;
    if (!(words_[bit / 64] & (uint64_t{1} << (bit % 64)))) return false;
  }
  return true;
}

}  // namespace volley::platform
