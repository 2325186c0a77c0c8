// One Maildir mailbox as Dovecot keeps it: messages are the files in new/
// and cur/, identified by their base name (maildir_name.hpp), with UIDs and
// UIDVALIDITY in dovecot-uidlist (uidlist.hpp). Volley and Dovecot can serve
// the same mailbox: both take "dovecot-uidlist.lock" (dotlock.hpp) to change
// the uidlist, and UIDs are given lazily at sync (delivery only writes new/).
//
// Sync never reads message bodies, except once for a file that carries no
// W= (virtual size) when the caller asks for sizes: the result is cached in
// the uidlist's W field, as Dovecot does.
//
// Files move under our feet (another process sets flags or moves new/ ->
// cur/): every operation that finds its file gone looks it up again by base
// name and retries.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/file_system.hpp"
#include "util/result.hpp"

namespace volley::mailbox {

struct MessageFile {
  uint32_t uid = 0;
  std::string base;                // stable identity (dovecot-uidlist key)
  std::string name;                // current file name
  bool in_new = false;             // in new/ (else cur/)
  std::string flags;               // ":2," letters (standard A-Z, keywords a-z)
  std::optional<uint64_t> size;    // physical bytes (S= or the uidlist's S), if known
  std::optional<uint64_t> vsize;   // bytes with CRLF line endings (W= or the uidlist's W), if known
};

struct MailboxView {
  uint32_t uidvalidity = 0;
  uint32_t next_uid = 0;
  std::vector<MessageFile> messages;  // ascending UID
};

struct SyncOptions {
  // Make sure every message has a vsize: compute (by reading) the ones the
  // file name and uidlist do not give, and cache them in the uidlist.
  bool want_vsize = false;
};

struct Expunged {
  bool removed = false;  // false: it was already gone
  uint64_t bytes = 0;    // physical size of what was removed
};

inline constexpr const char* kUidlistLockName = "dovecot-uidlist.lock";

class MaildirMailbox {
 public:
  explicit MaildirMailbox(std::string maildir, FileSystem& fs = posix_file_system());

  const std::string& path() const { return maildir_; }
  std::string file_path(const MessageFile& m) const;

  // Creates the Maildir (and parents), tmp/, new/ and cur/ when missing.
  Result<void> create();

  // Reads dovecot-uidlist (creating it, with a fresh UIDVALIDITY, when
  // missing), scans new/ and cur/, gives the next UIDs to files without one
  // and forgets records whose file is gone, writing the uidlist back (under
  // its dotlock) when anything changed. Serialized per mailbox across
  // threads and processes.
  Result<MailboxView> sync(const SyncOptions& options = {});

  // Sets/clears flag letters, moving the file to cur/ ("<base>:2,<flags>").
  // NotFound if the message no longer exists.
  Result<void> change_flags(MessageFile& m, std::string_view add, std::string_view remove = {});
  // new/ -> cur/ with the flags it has (none): Dovecot's first-session move.
  Result<void> move_to_cur(MessageFile& m) { return change_flags(m, {}); }

  // Removes the message's file.
  Result<Expunged> expunge(MessageFile& m);

  // fsync of new/ and cur/, so renames and unlinks done so far are durable.
  Result<void> sync_dirs();

  // Finds the message's file again by base name after it moved; false if gone.
  bool relocate(MessageFile& m) const;

 private:
  std::string maildir_;
  FileSystem& fs_;
};

// Reads a message file in pieces, giving bare LF as CRLF (what POP3 RETR
// and IMAP send; the byte count equals the W= virtual size).
class CrlfMessageReader {
 public:
  CrlfMessageReader(int fd) : fd_(fd) {}
  ~CrlfMessageReader();
  CrlfMessageReader(const CrlfMessageReader&) = delete;
  CrlfMessageReader& operator=(const CrlfMessageReader&) = delete;
  // Up to `max` (>= 2) bytes into `out`; empty at the end.
  Result<void> read(std::string& out, size_t max);

 private:
  int fd_;
  uint64_t offset_ = 0;
  bool prev_cr_ = false;
  bool eof_ = false;
};

// Opens the message for reading (following a rename); NotFound if gone.
Result<std::unique_ptr<CrlfMessageReader>> open_message(const MaildirMailbox& box, MessageFile& m);

}  // namespace volley::mailbox
