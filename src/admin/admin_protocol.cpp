#include "admin/admin_protocol.hpp"

#include <algorithm>
#include <optional>

#include "admin/protocol_json.hpp"
#include "queue/queue_id.hpp"
#include "smtp/address.hpp"
#include "smtp/command.hpp"
#include "util/strings.hpp"

namespace volley::admin {
namespace {

using namespace protocol_json;

// The "id" of show/delete: present, a string, and a well-formed queue id
// (which also keeps path characters away from any file-based store).
bool queue_id_field(const json& req, std::string& id, std::string& err) {
  if (!string_field(req, "id", id, err)) return false;
  if (id.empty()) {
    err = "missing \"id\"";
    return false;
  }
  if (!queue::is_valid_queue_id(id)) {
    err = "invalid message id (expected 20 characters of 0-9 and A-V)";
    return false;
  }
  return true;
}

const char* recipient_state(queue::RecipientState s) {
  switch (s) {
    case queue::RecipientState::Pending: return "pending";
    case queue::RecipientState::Delivered: return "delivered";
    case queue::RecipientState::Deferred: return "deferred";
    case queue::RecipientState::Bounced: return "bounced";
  }
  return "pending";
}

// DSN NOTIFY bits as their RFC 3461 keywords; [] when the client gave none.
json notify_names(unsigned bits) {
  json out = json::array();
  if (bits & smtp::kNotifyNever) out.push_back("never");
  if (bits & smtp::kNotifySuccess) out.push_back("success");
  if (bits & smtp::kNotifyFailure) out.push_back("failure");
  if (bits & smtp::kNotifyDelay) out.push_back("delay");
  return out;
}

json do_list(const json& req, queue::QueueAdmin& q) {
  if (auto bad = check_fields(req, {"cmd", "state", "domain", "limit"})) return error(*bad);
  queue::ListFilter filter;
  std::string err;
  if (!string_field(req, "state", filter.state, err) || !string_field(req, "domain", filter.domain, err))
    return error(err);
  filter.domain = to_lower(filter.domain);  // stores keep recipient domains lowercased
  if (auto it = req.find("limit"); it != req.end() && !it->is_null()) {
    if (!it->is_number_unsigned()) return error("field \"limit\" must be a non-negative integer");
    filter.limit = it->get<size_t>();
  }
  auto entries = q.list(filter);
  if (filter.limit != 0 && entries.size() > filter.limit) entries.resize(filter.limit);
  json messages = json::array();
  for (const auto& e : entries) {
    json m = json::object();
    m["id"] = e.id;
    m["received_at"] = e.received_at;
    m["sender"] = e.sender;
    m["recipients"] = e.recipients;
    m["size"] = e.size;
    m["state"] = e.state;
    m["domains"] = e.domains;
    messages.push_back(std::move(m));
  }
  json out = success();
  out["messages"] = std::move(messages);
  return out;
}

json do_count(const json& req, queue::QueueAdmin& q) {
  if (auto bad = check_fields(req, {"cmd"})) return error(*bad);
  json out = success();
  out["count"] = q.count();
  return out;
}

json message_json(const queue::Message& m) {
  const auto& env = m.envelope;
  json rcpts = json::array();
  for (const auto& r : env.recipients) {
    json j = json::object();
    j["address"] = r.address;
    j["original"] = r.original;
    j["state"] = recipient_state(r.state);
    j["notify"] = notify_names(r.notify);
    // RFC 3464 Original-Recipient form: "addr-type;address".
    j["orcpt"] = r.orcpt_type.empty() ? std::string() : r.orcpt_type + ";" + r.orcpt_address;
    rcpts.push_back(std::move(j));
  }
  json envelope = json::object();
  envelope["sender"] = env.sender;
  envelope["recipients"] = std::move(rcpts);
  envelope["dsn_ret"] = env.dsn_ret;
  envelope["dsn_envid"] = env.dsn_envid;
  envelope["smtputf8"] = env.smtputf8;
  envelope["eight_bit"] = env.eight_bit;

  json meta = json::object();
  meta["client_ip"] = env.client_ip;
  meta["helo"] = env.helo;
  meta["tls"] = env.tls;
  meta["auth_user"] = env.auth_user;
  meta["listener"] = env.listener;
  meta["received_at"] = env.received_at;

  json attempts = json::array();
  for (const auto& a : env.attempts)
    attempts.push_back({{"at", a.at}, {"recipient", a.recipient}, {"status", a.status}, {"relay", a.relay}, {"reply", a.reply}});

  bool truncated = false;
  std::string_view headers = header_block(m.content, kMaxHeaderBytes, truncated);
  json out = json::object();
  out["id"] = env.id;
  out["size"] = m.content.size();
  out["envelope"] = std::move(envelope);
  out["metadata"] = std::move(meta);
  out["attempts"] = std::move(attempts);
  out["headers"] = std::string(headers);
  out["headers_truncated"] = truncated;
  return out;
}

json do_show(const json& req, queue::QueueAdmin& q, std::string& id) {
  if (auto bad = check_fields(req, {"cmd", "id"})) return error(*bad);
  std::string err;
  if (!queue_id_field(req, id, err)) return error(err);
  auto m = q.show(id);
  if (!m) return error("no such message " + id);
  json out = success();
  out["message"] = message_json(*m);
  return out;
}

json do_delete(const json& req, queue::QueueAdmin& q, std::string& id) {
  if (auto bad = check_fields(req, {"cmd", "id"})) return error(*bad);
  std::string err;
  if (!queue_id_field(req, id, err)) return error(err);
  auto r = q.remove(id);
  if (!r) return error(r.error().message);
  json out = success();
  out["id"] = id;
  return out;
}

// Answer of retry/flush: how many messages the engine made due now.
json scheduled(const Result<size_t>& r, size_t& count) {
  if (!r) return error(r.error().message);
  count = r.value();
  json out = success();
  out["count"] = count;
  return out;
}

// {"id":ID} retries one message, {"all":true} every deferred one. Exactly
// one of them: a script that lost its id must not retry the whole queue.
json do_retry(const json& req, queue::QueueAdmin& q, RequestSummary& summary) {
  if (auto bad = check_fields(req, {"cmd", "id", "all"})) return error(*bad);
  bool all = false;
  if (auto it = req.find("all"); it != req.end() && !it->is_null()) {
    if (!it->is_boolean()) return error("field \"all\" must be true or false");
    all = it->get<bool>();
  }
  auto id_it = req.find("id");
  bool has_id = id_it != req.end() && !id_it->is_null();
  if (all && has_id) return error("give either \"id\" or \"all\":true, not both");
  if (all) return scheduled(q.retry_all(), summary.count);
  if (!has_id) return error("missing \"id\" (or \"all\":true)");
  std::string err;
  if (!queue_id_field(req, summary.id, err)) return error(err);
  return scheduled(q.retry(summary.id), summary.count);
}

// The domain is matched against the lowercased recipient domains the queue
// keeps. Only a syntactically valid name (UTF-8 labels allowed, as SMTPUTF8
// recipients are stored that way) reaches the engine, so a typo such as
// "example.com " fails loudly instead of flushing nothing.
json do_flush(const json& req, queue::QueueAdmin& q, RequestSummary& summary) {
  if (auto bad = check_fields(req, {"cmd", "domain"})) return error(*bad);
  std::string domain, err;
  if (!string_field(req, "domain", domain, err)) return error(err);
  if (domain.empty()) return error("missing \"domain\"");
  if (domain.size() > kMaxFlushDomainBytes)
    return error("domain too long (limit " + std::to_string(kMaxFlushDomainBytes) + " bytes)");
  domain = to_lower(domain);
  if (!smtp::is_valid_domain(domain, /*allow_utf8=*/true))
    return error("invalid domain (expected a name like example.com: letters, digits, '-' and '.')");
  summary.domain = domain;
  return scheduled(q.flush(domain), summary.count);
}

json do_users_changed(const json& req, const UsersChanged& users_changed) {
  if (auto bad = check_fields(req, {"cmd"})) return error(*bad);
  if (!users_changed) return error("this daemon does not serve users");
  if (auto r = users_changed(); !r) return error("reloading users failed: " + r.error().message);
  return success();
}

json dispatch(std::string_view line, queue::QueueAdmin& q, RequestSummary& summary, const UsersChanged& users_changed) {
  if (line.size() > kMaxRequestBytes)
    return error("request too large (limit " + std::to_string(kMaxRequestBytes) + " bytes)");
  json req = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) return error("request is not valid JSON");
  if (!req.is_object()) return error("request must be a JSON object");
  std::string cmd, err;
  if (!string_field(req, "cmd", cmd, err)) return error(err);
  summary.cmd = clip(cmd);
  if (cmd.empty()) return error("missing \"cmd\"");
  if (cmd == "list") return do_list(req, q);
  if (cmd == "count") return do_count(req, q);
  if (cmd == "show") return do_show(req, q, summary.id);
  if (cmd == "delete") return do_delete(req, q, summary.id);
  if (cmd == "retry") return do_retry(req, q, summary);
  if (cmd == "flush") return do_flush(req, q, summary);
  if (cmd == "users_changed") return do_users_changed(req, users_changed);
  // Normally taken by the server before it gets here (send_protocol.hpp);
  // a send without its framing is never guessed at.
  if (cmd == "send") return error("\"send\" carries a message and is answered by the admin server only");
  return error("unknown command \"" + clip(cmd) + "\"");
}

std::string simple_request(const char* cmd, const std::string* id) {
  json j = json::object();
  j["cmd"] = cmd;
  if (id) j["id"] = *id;
  return dump(j);
}

}  // namespace

std::string socket_path(const std::string& data_dir) { return data_dir + "/admin.sock"; }

std::string handle_admin_request(std::string_view line, queue::QueueAdmin& q, RequestSummary* summary,
                                 const UsersChanged& users_changed) noexcept {
  RequestSummary local;
  RequestSummary& s = summary ? *summary : local;
  s = RequestSummary{};
  try {
    json response;
    try {
      response = dispatch(line, q, s, users_changed);
    } catch (const std::exception& e) {
      // A queue implementation failing in an unexpected way (or bad_alloc):
      // the daemon keeps serving and the client gets the reason.
      response = error(std::string("internal error: ") + e.what());
    }
    s.ok = response["ok"].get<bool>();
    if (!s.ok) s.error = response["error"].get<std::string>();
    return dump(response);
  } catch (...) {
    // Out of memory even for the error: the caller closes the connection.
    return std::string();
  }
}

std::string make_list_request(const queue::ListFilter& filter) {
  json j = json::object();
  j["cmd"] = "list";
  j["state"] = filter.state;
  j["domain"] = filter.domain;
  j["limit"] = filter.limit;
  return dump(j);
}

std::string make_count_request() { return simple_request("count", nullptr); }
std::string make_users_changed_request() { return simple_request("users_changed", nullptr); }
std::string make_show_request(const std::string& id) { return simple_request("show", &id); }
std::string make_delete_request(const std::string& id) { return simple_request("delete", &id); }
std::string make_retry_request(const std::string& id) { return simple_request("retry", &id); }

std::string make_retry_all_request() {
  json j = json::object();
  j["cmd"] = "retry";
  j["all"] = true;
  return dump(j);
}

std::string make_flush_request(const std::string& domain) {
  json j = json::object();
  j["cmd"] = "flush";
  j["domain"] = domain;
  return dump(j);
}

std::string_view header_block(std::string_view content, size_t max, bool& truncated) {
  // The block ends with the line ending that precedes the first empty line;
  // accept CRLF (what the queue stores) and bare LF alike.
  size_t end = content.size();
  if (content.starts_with("\r\n") || content.starts_with("\n")) {
    end = 0;
  } else {
    size_t first = std::min(content.find("\n\r\n"), content.find("\n\n"));
    if (first != std::string_view::npos) end = first + 1;
  }
  truncated = end > max;
  return content.substr(0, truncated ? max : end);
}

}  // namespace volley::admin
