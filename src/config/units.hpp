// Size and duration values of volley.toml: a plain integer (bytes / seconds)
// or a string with a unit: "50MB", "512KB", "1GB", "100B" (decimal and binary:
// KB=1000? no — mail admins expect KB=1024 as Postfix does; we use 1024) and
// "30s", "5m", "4h", "5d", "250ms".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace volley::config {

// "50MB" -> 52428800. Units (case-insensitive): B, K/KB/KiB, M/MB/MiB, G/GB/GiB (all powers of 1024).
// Empty, negative, overflowing or unknown-unit strings -> nullopt.
std::optional<uint64_t> parse_size(std::string_view text);
// "30s", "5m", "4h", "5d", "250ms", "1m30s" is NOT accepted (one number, one unit).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace volley::config
