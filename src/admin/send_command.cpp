#include "admin/send_command.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>
#include <ostream>

#include "admin/admin_client.hpp"
#include "admin/queue_command.hpp"
#include "admin/send_protocol.hpp"
#include "util/strings.hpp"

namespace volley::admin {

Result<std::vector<std::string>> split_recipients(const std::vector<std::string>& to) {
  std::vector<std::string> out;
  for (const std::string& option : to) {
    std::string_view rest = option;
    for (;;) {
      const size_t comma = rest.find(',');
      const std::string_view piece = trim(rest.substr(0, comma));
      if (piece.empty()) return make_error(ErrorCode::Invalid, concat("empty address in --to ", quoted(option, 64)));
      out.emplace_back(piece);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (out.empty()) return make_error(ErrorCode::Invalid, "give at least one --to address");
  return out;
}

Result<std::string> read_bounded(std::istream& in, uint64_t max) {
  std::string data;
  char buf[65536];
  while (in) {
    in.read(buf, sizeof buf);
    const auto n = static_cast<size_t>(in.gcount());
    if (data.size() + n > max)
      return make_error(ErrorCode::Invalid, concat("message too large (more than ", std::to_string(max),
                                                   " bytes, limits.max_message_size)"));
    data.append(buf, n);
  }
  if (in.bad()) return make_error(ErrorCode::Io, "reading the message failed");
  return data;
}

int run_send_command(const SendOptions& options, const std::string& data_dir, uint64_t max_message_size,
                     std::istream& stdin_stream, bool stdin_is_tty, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& reason) {
    err << "volley: send: " << terminal_safe(reason) << "\n";
    return 1;
  };
  // Everything that can be checked here is, before reading a byte: the
  // daemon checks again, but the operator hears at once and in these words.
  SendRequest request;
  request.from = options.from;
  if (auto why = address_problem(request.from); !why.empty()) return fail(concat("--from: ", why));
  auto to = split_recipients(options.to);
  if (!to) return fail(to.error().message);
  for (const std::string& address : to.value())
    if (auto why = address_problem(address); !why.empty()) return fail(concat("--to: ", why));
  request.to = std::move(to.value());
  if (options.subject) {
    if (auto why = subject_problem(*options.subject); !why.empty()) return fail(concat("--subject: ", why));
    request.subject = options.subject;
  }

  Result<std::string> message = std::string();
  if (options.file.empty() || options.file == "-") {
    // Waiting for a message typed at a terminal is never what a script meant.
    if (stdin_is_tty) return fail("no message on stdin (give a FILE, or pipe the message in)");
    message = read_bounded(stdin_stream, max_message_size);
  } else {
    std::ifstream file(options.file, std::ios::binary);
    if (!file) return fail(concat("cannot open ", options.file, ": ", std::strerror(errno)));
    message = read_bounded(file, max_message_size);
  }
  if (!message) return fail(message.error().message);
  request.size = message->size();

  auto answer = call_daemon(data_dir, make_send_request(request), message.value());
  if (!answer) return fail(answer.error().message);
  auto id = answer->find("id");
  if (id == answer->end() || !id->is_string()) return fail("unreadable answer from the daemon");
  out << "queued " << terminal_safe(id->get<std::string>()) << "\n";
  return 0;
}

}  // namespace volley::admin
