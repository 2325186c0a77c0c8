// Mailbox usage for quotas, kept the way Maildir++ keeps it (Courier's
// README.maildirquota, Dovecot's "maildir" quota backend) in the file
// <maildir>/maildirsize, so Dovecot, Courier and Volley agree on one number:
//
//   1000000S,1000C        limits: bytes (S) and/or messages (C); "0S" = none
//   123456 42             the usage when the file was (re)calculated
//   4096 1                one line appended per delivery (O_APPEND, one write)
//   -4096 -1              ... and per expunge
//
// Usage = the sum of the lines after the first. The file is recalculated
// (a scan of new/ and cur/ of INBOX and every .Folder, sizes from the S= of
// file names, stat() where a name has none; written to a temporary file and
// renamed over) when it is missing, unparsable, has grown to 5120 bytes
// (Dovecot's limit), carries other limits than ours, or says "over quota"
// with more than one delta line (Dovecot's rule: appends can drift, so the
// number is rechecked before it refuses mail). It is a cache of what the
// directories hold, never the truth: no fsync, and any damage is repaired
// by a rescan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace volley::mailbox {

inline constexpr const char* kMaildirSizeFile = "maildirsize";
// Dovecot reads at most 5119 bytes of maildirsize and recalculates a file
// that large: the same bound keeps reads of it one small read.
inline constexpr size_t kMaildirSizeMaxBytes = 5120;

struct QuotaUsage {
  int64_t bytes = 0;
  int64_t count = 0;
  bool operator==(const QuotaUsage&) const = default;
};

// 0 = no limit of that kind.
struct QuotaLimits {
  uint64_t bytes = 0;
  uint64_t count = 0;
  bool operator==(const QuotaLimits&) const = default;
};

struct MaildirSize {
  QuotaLimits limits;
  QuotaUsage usage;
  size_t delta_lines = 0;  // lines after the limits line (the summary counts)
};

// ---- pure --------------------------------------------------------------

// "1000S,10C", "0S", "" -> limits. Error Invalid for anything else.
Result<QuotaLimits> parse_quota_limits(std::string_view line);
// The whole file. Error Invalid when it must be recalculated: too large,
// NUL bytes, no complete limits line, a bad line, a negative total. A last
// line without its LF (a write in progress, a crash) is ignored, as Dovecot
// does.
Result<MaildirSize> parse_maildirsize(std::string_view bytes);
// What a recalculation writes: the limits line ("0S" when there are none)
// and one summary line.
std::string format_maildirsize(const QuotaLimits& limits, const QuotaUsage& usage);
// One delta line: "<bytes> <count>\n".
std::string format_quota_delta(int64_t bytes, int64_t count);
// The size a Maildir file name records (",S=<digits>" followed by ',', ':'
// or the end); nullopt when it has none.
std::optional<uint64_t> size_from_file_name(std::string_view name);

// ---- files (blocking: never on an I/O thread, except peek) ---------------

// Sums new/ and cur/ of `maildir` and of each of its ".Folder" directories.
Result<QuotaUsage> scan_usage(const std::string& maildir);

// Scans and writes a fresh maildirsize with `limits` (tmp + rename).
Result<QuotaUsage> recalc_usage(const std::string& maildir, const QuotaLimits& limits);

// The usage, from maildirsize when it can be trusted, else recalculated
// (see the header comment for when).
Result<QuotaUsage> read_usage(const std::string& maildir, const QuotaLimits& limits);

// Only reads and parses maildirsize (one open and one read of at most
// 5120 bytes, never a scan): nullopt when the file is missing or would need a
// recalculation. For callers that must not wait for a directory scan.
std::optional<QuotaUsage> peek_usage(const std::string& maildir);

// Records a change: positive after a delivery, negative after an expunge.
// Appends one delta line with a single O_APPEND write; when there is no
// usable file it recalculates instead (the scan already sees the change, so
// call this after the files were added or removed).
Result<void> add_usage(const std::string& maildir, int64_t bytes, int64_t count, const QuotaLimits& limits);

}  // namespace volley::mailbox
