// Local delivery into Maildir (http://cr.yp.to/proto/maildir.html), named the
// way Dovecot names its files so Dovecot (or any Maildir reader) can serve the
// mailboxes Volley writes. One message = one file: written and synced in tmp/,
// then renamed into new/ and the directory synced, so a reader never sees a
// partial message and an acknowledged delivery survives a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace volley::mailbox {

// Maps a local recipient address to its Maildir: <mail_root>/<domain>/<localpart>,
// both lowercased (ASCII), split at the last '@'. Refuses anything unsafe as a
// path component (empty, ".", "..", leading '.', '/', NUL, control bytes,
// > 255 bytes) with an error; such addresses are a permanent failure for the caller.
Result<std::string> maildir_for(std::string_view mail_root, std::string_view address);

struct DeliveredFile {
  std::string path;   // the file in new/
  uint64_t size = 0;  // bytes written (prefix + content)
};

// Delivers one message: creates <maildir>/{tmp,new,cur} (and missing parents)
// with mode 0700 when needed, writes prefix + content to tmp/<unique>, fsync,
// renames into new/<unique>, fsyncs new/. Errors (ENOSPC, EACCES, ENOTDIR...)
// are temporary failures for the caller to retry; nothing is left in tmp/.
// Safe to call from several threads at once.
Result<DeliveredFile> deliver(const std::string& maildir, std::string_view prefix, std::string_view content,
                              std::string_view hostname);

// The header lines delivery prepends: "Return-Path: <sender>\r\nDelivered-To: <rcpt>\r\n"
// (sender "" -> "<>"); control bytes (CR, LF...) in the values become '?'.
std::string delivery_headers(std::string_view sender, std::string_view recipient);

// "<secs>.M<usecs>P<pid>Q<counter>.<host>,S=<size>,W=<size>" with '/' and ':'
// in the host written as "\057" and "\072" (Dovecot's escaping). Exposed for tests.
std::string unique_name(int64_t secs, int64_t usecs, long pid, uint64_t counter, std::string_view hostname,
                        uint64_t size);

}  // namespace volley::mailbox
