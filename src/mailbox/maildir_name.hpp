// Maildir file names as Dovecot reads and writes them
// (https://doc.dovecot.org/admin_manual/mailbox_formats/maildir/):
//   <base>[:2,<flags>]   with <base> = "<unique>[,S=<size>][,W=<vsize>]..."
// The base is what identifies a message across renames (new/ -> cur/, flag
// changes) and what dovecot-uidlist records. Dovecot's "\057" / "\072"
// escaping of '/' and ':' inside the host part is left untouched: it is just
// bytes of the base.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace volley::mailbox {

// Standard Maildir flags (uppercase, ASCII order) Dovecot uses, and the
// keyword letters a..z (index into dovecot-keywords).
inline constexpr char kFlagDraft = 'D';
inline constexpr char kFlagFlagged = 'F';
inline constexpr char kFlagPassed = 'P';
inline constexpr char kFlagReplied = 'R';
inline constexpr char kFlagSeen = 'S';
inline constexpr char kFlagTrashed = 'T';

struct MaildirName {
  std::string base;                // everything before the first ':'
  bool has_info = false;           // a ":2," part is present
  std::string info;                // raw text after ':' when it is not "2,<flags>" (kept, not interpreted)
  std::string flags;               // the letters after ":2,", sorted, unique
  std::optional<uint64_t> size;    // ,S=<n> in the base: physical bytes
  std::optional<uint64_t> vsize;   // ,W=<n> in the base: bytes with CRLF line endings
};

// True for names a Maildir reader considers at all: non-empty, no '/', NUL
// or control bytes, not starting with '.' (dot files are not messages).
bool is_message_file_name(std::string_view name);

// Splits a file name. Never fails: a name without ":2," has no flags; a
// malformed S=/W= field is simply absent.
MaildirName parse_maildir_name(std::string_view name);

// Delivery-time order of two file names (Dovecot's maildir_filename_sort_cmp
// idea): "<secs>." and then ".M<usecs>" compared as numbers, so
// "1700000000.M99999P1" comes before "1700000000.M100000P1", which a plain
// string comparison gets wrong; anything else by bytes. New mail gets its
// UIDs in this order.
bool maildir_name_before(std::string_view a, std::string_view b);

// The base of a file name (up to the first ':').
std::string_view maildir_base(std::string_view name);

// Flag letters sorted (ASCII order, as the Maildir spec asks) with
// duplicates and anything but A-Z / a-z dropped.
std::string normalize_flags(std::string_view flags);

// "<base>:2,<flags>" (flags normalized).
std::string maildir_name_with_flags(std::string_view base, std::string_view flags);

// Decimal digits only (1..19 of them) with a value <= max; the store's
// numbers (S=, W=, UIDs, uidlist fields) all read through this.
std::optional<uint64_t> parse_decimal(std::string_view s, uint64_t max = UINT64_MAX);

// Bytes the message has when every bare LF is sent as CRLF (Dovecot's
// "virtual size", W=). `prev_cr` carries state across chunks.
uint64_t crlf_size_of_chunk(std::string_view chunk, bool& prev_cr);

}  // namespace volley::mailbox
