#include "admin/send_protocol.hpp"

#include "admin/protocol_json.hpp"
#include "smtp/address.hpp"
#include "util/strings.hpp"

namespace volley::admin {
namespace {

using namespace protocol_json;

Result<SendRequest> refuse(std::string why) { return make_error(ErrorCode::Invalid, std::move(why)); }

Result<SendRequest> parse_fields(const json& req, const SendLimits& limits) {
  if (auto bad = check_fields(req, {"cmd", "from", "to", "subject", "size"})) return refuse(*bad);
  SendRequest out;
  std::string err;
  if (!string_field(req, "from", out.from, err)) return refuse(err);
  if (out.from.empty()) return refuse("missing \"from\"");
  if (auto why = address_problem(out.from); !why.empty()) return refuse("from: " + why);

  auto to = req.find("to");
  if (to == req.end() || !to->is_array()) return refuse("field \"to\" must be a list of addresses");
  if (to->empty()) return refuse("no recipients");
  if (to->size() > limits.max_recipients)
    return refuse(concat("too many recipients (limit ", std::to_string(limits.max_recipients),
                         ", limits.max_recipients)"));
  for (const auto& item : *to) {
    if (!item.is_string()) return refuse("field \"to\" must be a list of addresses");
    std::string address = item.get<std::string>();
    if (auto why = address_problem(address); !why.empty()) return refuse(concat("to: ", why));
    out.to.push_back(std::move(address));
  }

  if (auto it = req.find("subject"); it != req.end() && !it->is_null()) {
    if (!it->is_string()) return refuse("field \"subject\" must be a string");
    std::string subject = it->get<std::string>();
    if (auto why = subject_problem(subject); !why.empty()) return refuse(why);
    out.subject = std::move(subject);
  }

  auto size = req.find("size");
  // A float, a negative number or a string is refused, never converted:
  // the count must be exact or the stream loses its framing.
  if (size == req.end() || !size->is_number_unsigned()) return refuse("field \"size\" must be a byte count");
  out.size = size->get<uint64_t>();
  if (out.size > limits.max_message_size)
    return refuse(concat("message too large (", std::to_string(out.size), " bytes; limit ",
                         std::to_string(limits.max_message_size), ", limits.max_message_size)"));
  return out;
}

}  // namespace

std::string address_problem(std::string_view address) {
  auto parsed = smtp::parse_mailbox(address, /*allow_utf8=*/true);
  if (parsed.ok) return {};
  return concat("bad address ", quoted(address, 64), ": ",
                parsed.error.detail.empty() ? std::string_view("not user@domain") : std::string_view(parsed.error.detail));
}

std::string subject_problem(std::string_view subject) {
  if (subject.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
    return "the subject must not contain CR, LF or NUL";
  if (subject.size() > kMaxSubjectBytes)
    return concat("subject too long (limit ", std::to_string(kMaxSubjectBytes), " bytes)");
  if (!smtp::is_valid_utf8(subject)) return "the subject is not valid UTF-8";
  return {};
}

std::string make_send_request(const SendRequest& r) {
  json j = json::object();
  j["cmd"] = "send";
  j["from"] = r.from;
  j["to"] = r.to;
  if (r.subject) j["subject"] = *r.subject;
  j["size"] = r.size;
  return dump(j);
}

std::optional<Result<SendRequest>> parse_send_request(std::string_view line, const SendLimits& limits) {
  json req = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded() || !req.is_object()) return std::nullopt;
  auto cmd = req.find("cmd");
  if (cmd == req.end() || !cmd->is_string() || cmd->get<std::string>() != "send") return std::nullopt;
  return parse_fields(req, limits);
}

std::string make_send_answer(const Result<std::string>& queue_id) {
  if (!queue_id) return dump(error(queue_id.error().message));
  json out = success();
  out["id"] = queue_id.value();
  return dump(out);
}

}  // namespace volley::admin
