// `volley send --from A --to B [--to C,D] [--subject S] [FILE|-]`: hands a
// message to the running daemon over its admin socket (send_protocol.hpp),
// as Postfix's sendmail/postdrop do; the daemon queues it like a submission.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace volley::admin {

struct SendOptions {
  std::string from;
  std::vector<std::string> to;         // each --to as given; may be comma-separated
  std::optional<std::string> subject;  // --subject
  std::string file;                    // "" or "-": standard input
};

// The recipients of every --to, split at commas, spaces around them
// trimmed. An empty piece ("a@x,,b@y", a trailing comma) is an error.
Result<std::vector<std::string>> split_recipients(const std::vector<std::string>& to);

// At most `max` bytes from `in`; an error when there are more (the message
// is too large) or the stream fails.
Result<std::string> read_bounded(std::istream& in, uint64_t max);

// Returns the exit code: 0 with "queued ID" on `out`; 1 with one line
// "volley: send: reason" on `err` for any failure: a bad address or
// subject, no message (no FILE and `stdin` is a terminal), a message over
// `max_message_size` (limits.max_message_size), a daemon that is not
// running (naming its socket) or that refused the message.
int run_send_command(const SendOptions& options, const std::string& data_dir, uint64_t max_message_size,
                     std::istream& stdin_stream, bool stdin_is_tty, std::ostream& out, std::ostream& err);

}  // namespace volley::admin
