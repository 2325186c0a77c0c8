// dovecot-uidlist: the file Dovecot keeps in a Maildir to give each message
// (by file base name) a stable IMAP UID, with the mailbox's UIDVALIDITY and
// the next UID to give. Read and written here in Dovecot's format, version 3
// (src/lib-storage/index/maildir/maildir-uidlist.c):
//   header:  "3 V<uidvalidity> N<next uid> G<guid hex>[ <key><value>...]"
//   record:  "<uid>[ <key><value>...] :<base name>"
// Record keys are 'A'..'Z' (S physical size, W virtual size, P POP3 UIDL,
// O POP3 order, G GUID). Unknown header and record fields are kept so a
// file written by Dovecot round-trips. Version 1 ("1 <uidvalidity>
// <next uid>", records "<uid> <name>") is read; other versions are refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley::mailbox {

inline constexpr const char* kUidlistName = "dovecot-uidlist";
// Longest line accepted (a base name is at most 255 bytes; ext fields are short).
inline constexpr size_t kMaxUidlistLine = 8192;

struct UidlistRecord {
  uint32_t uid = 0;
  std::vector<std::string> ext;  // "<key><value>", in file order
  std::string base;

  // The value of ext field `key`, if present.
  std::optional<std::string_view> field(char key) const;
  void set_field(char key, std::string_view value);
};

struct Uidlist {
  uint32_t version = 3;
  uint32_t uidvalidity = 0;
  uint32_t next_uid = 1;
  std::string guid;                       // 32 hex digits, or empty
  std::vector<std::string> header_ext;    // other header fields, "<key><value>"
  std::vector<UidlistRecord> records;     // ascending UID
  size_t skipped_lines = 0;               // malformed record lines dropped while parsing
};

// Parses a whole file. A bad header (or an unsupported version) is an
// error (ErrorCode::Invalid): the caller must not overwrite what it cannot
// read. Malformed record lines (no UID, UID not ascending, no name, a '/' in
// the name, over kMaxUidlistLine) are skipped and counted; an empty input is
// an error too (callers treat an empty file like a missing one).
Result<Uidlist> parse_uidlist(std::string_view text);

// Version 3 text (a version 1 list is written as version 3, as Dovecot upgrades it).
std::string serialize_uidlist(const Uidlist& list);

}  // namespace volley::mailbox
