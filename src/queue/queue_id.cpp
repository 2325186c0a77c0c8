#include "queue/queue_id.hpp"

#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace volley::queue {
namespace {
constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

uint64_t random_u64() {
  uint64_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
    v = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return v;
}

struct ProcessSeed {
  std::atomic<uint32_t> counter{static_cast<uint32_t>(random_u64())};
  uint32_t fill = static_cast<uint32_t>(random_u64() & 0xFFFFF);
};

ProcessSeed& seed() {
  static ProcessSeed s;
  return s;
}

void append_base32(std::string& out, uint64_t value, int chars) {
  for (int i = chars - 1; i >= 0; --i) out += kDigits[(value >> (5 * i)) & 31];
}
}  // namespace

std::string make_queue_id() {
  using namespace std::chrono;
  auto micros = static_cast<uint64_t>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
  uint32_t n = seed().counter.fetch_add(1, std::memory_order_relaxed) & 0xFFFFFFF;
  std::string id;
  id.reserve(20);
  append_base32(id, micros & ((1ull << 52) - 1), 11);  // 55 bits of room, time sorts first
  append_base32(id, n, 6);                             // 30 bits of room for 28 bits of counter
  append_base32(id, seed().fill & 0x7FFF, 3);
  return id;
}

bool is_valid_queue_id(std::string_view id) {
  if (id.size() != 20) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'V'))) return false;
  return true;
}

}  // namespace volley::queue
