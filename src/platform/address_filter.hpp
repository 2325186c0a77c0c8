// A Bloom filter over addresses: "certainly not in the set" without a
// database lookup. The suppression list puts every suppressed address in one
// so that the common case -- an address nobody suppressed -- costs a few
// hash probes instead of an SQLite query under the database mutex (a tenth
// of an API request's CPU was that query). "Maybe" answers go to SQLite as
// before, so the filter only has to have no false negatives: removals leave
// their bits (a false positive costs one query), and it is rebuilt at twice
// the size when it holds more than it was sized for. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace volley::platform {

class AddressFilter {
 public:
  // Sized for `capacity` addresses at about 1% false positives.
  explicit AddressFilter(size_t capacity = 1024);
  void insert(std::string_view address);
  bool may_contain(std::string_view address) const;
  size_t size() const { return inserted_; }
  size_t capacity() const { return capacity_; }
  bool full() const { return inserted_ > capacity_; }

 private:
  static constexpr unsigned kProbes = 7;  // optimal for ~10 bits per entry
  std::vector<uint64_t> words_;
  uint64_t bits_;
  size_t capacity_;
  size_t inserted_ = 0;
};

}  // namespace volley::platform
