// Local delivery into Maildir (http://cr.yp.to/proto/maildir.html), named the
// way Dovecot names its files so Dovecot (or any Maildir reader) can serve the
// mailboxes Volley writes. One message = one file: written and synced in tmp/,
// then renamed into new/ and the directory synced, so a reader never sees a
// partial message and an acknowledged delivery survives a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/file_system.hpp"
#include "util/result.hpp"

namespace volley::mailbox {

// Maps a local recipient address to its Maildir: <mail_root>/<domain>/<localpart>,
// both lowercased (ASCII), split at the last '@'. Refuses anything unsafe as a
// path component (empty, ".", "..", leading '.', '/', NUL, control bytes,
// > 255 bytes) with an error; such addresses are a permanent failure for the caller.
Result<std::string> maildir_for(std::string_view mail_root, std::string_view address);

// The Maildir of `folder` inside the mailbox `maildir` (Maildir++, as
// Dovecot and Courier lay it out): "" is the mailbox itself (INBOX), "Junk"
// is <maildir>/.Junk. A folder name must be 1..64 letters, digits, '-' or
// '_' (no '.', the Maildir++ hierarchy separator; nothing that leaves the
// mailbox); anything else is an error.
Result<std::string> folder_maildir(std::string_view maildir, std::string_view folder);

// mkdir -p for the maildir itself plus tmp/, new/ and cur/ (mode 0700).
Result<void> make_maildir(FileSystem& fs, const std::string& maildir);

struct DeliveredFile {
  std::string path;   // the file in new/
  uint64_t size = 0;  // bytes written (prefix + content)
};

// A message written and synced in tmp/, not yet visible to any reader.
struct StagedFile {
  std::string maildir;
  std::string name;      // the unique file name, the same in tmp/ and new/
  uint64_t size = 0;
  uint64_t vsize = 0;    // with CRLF line endings (W=)
  std::string tmp_path() const { return maildir + "/tmp/" + name; }
  std::string new_path() const { return maildir + "/new/" + name; }
};

// Phase one: creates <maildir>/{tmp,new,cur} (and missing parents) with mode
// 0700 when needed, writes prefix + content to tmp/<unique> and fsyncs it.
// On failure nothing is left in tmp/.
Result<StagedFile> stage(FileSystem& fs, const std::string& maildir, std::string_view prefix,
                         std::string_view content, std::string_view hostname);
// Phase two: renames the staged file into new/ and fsyncs new/. On failure
// the file is removed from tmp/ and new/ (not durable = not delivered).
Result<DeliveredFile> publish(FileSystem& fs, const StagedFile& file);
// Removes a staged file that will not be published (abort).
void discard(FileSystem& fs, const StagedFile& file);

// stage + publish. Every error (ENOSPC -> NoSpace, anything else -> Io) is
// temporary: the caller retries; nothing is left in tmp/ or new/.
// Safe to call from several threads at once.
Result<DeliveredFile> deliver(const std::string& maildir, std::string_view prefix, std::string_view content,
                              std::string_view hostname, FileSystem& fs = posix_file_system());

// The header lines delivery prepends: "Return-Path: <sender>\r\nDelivered-To: <rcpt>\r\n"
// (sender "" -> "<>"); control bytes (CR, LF...) in the values become '?'.
std::string delivery_headers(std::string_view sender, std::string_view recipient);

// "<secs>.M<usecs>P<pid>Q<counter>.<host>,S=<size>,W=<vsize>" with '/' and ':'
// in the host written as "\057" and "\072" (Dovecot's escaping); vsize (the
// size with CRLF line endings) defaults to size. Exposed for tests.
std::string unique_name(int64_t secs, int64_t usecs, long pid, uint64_t counter, std::string_view hostname,
                        uint64_t size, std::optional<uint64_t> vsize = std::nullopt);

}  // namespace volley::mailbox
