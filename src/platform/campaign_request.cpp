#include "platform/campaign_request.hpp"

#include <algorithm>
#include <unordered_map>

#include "platform/limits.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

using nlohmann::json;

std::string recipient_field(size_t i, std::string_view rest) {
  std::string s = "recipients[";
  s += std::to_string(i);
  s += ']';
  s += rest;
  return s;
}

std::optional<ApiError> compile(const json& body, const char* key, MergeTemplate& out) {
  std::string source;
  if (auto e = read_string(body, key, source)) return e;
  auto t = MergeTemplate::compile(source);
  if (!t) return unprocessable("invalid_template", concat(key, ": ", t.error().message));
  out = std::move(t).value();
  return std::nullopt;
}

// Which template first uses each campaign variable, for error messages.
const char* used_by(const CampaignRequest& c, const std::string& name) {
  if (c.subject.variable_index(name)) return "subject";
  if (c.text.variable_index(name)) return "text";
  return "html";
}

// An upper bound on one recipient's rendered size: literal text plus each
// value times its uses (times 6 in html, where one byte may become "&quot;").
struct SizeModel {
  uint64_t literal_bytes = 0;
  std::vector<uint64_t> weight;  // per campaign variable

  SizeModel(const CampaignRequest& c, std::string_view subject, std::string_view text, std::string_view html)
      : weight(c.variables.size(), 0) {
    literal_bytes = subject.size() * 2 + text.size() + html.size() + 2048;
    auto count = [&](const MergeTemplate& t, uint64_t factor) {
      for (size_t i = 0; i < t.variables().size(); ++i) {
        const auto it = std::lower_bound(c.variables.begin(), c.variables.end(), t.variables()[i]);
        weight[static_cast<size_t>(it - c.variables.begin())] += t.uses(i) * factor;
      }
    };
    count(c.subject, 2);
    count(c.text, 1);
    count(c.html, 6);
  }
  uint64_t bound(const std::vector<std::string>& values) const {
    uint64_t n = literal_bytes;
    for (size_t i = 0; i < values.size(); ++i) n += weight[i] * values[i].size();
    return n;
  }
};

std::vector<std::string_view> values_for(const CampaignRequest& c, const MergeTemplate& t,
                                         const std::vector<std::string>& values) {
  std::vector<std::string_view> out;
  out.reserve(t.variables().size());
  for (const std::string& v : t.variables()) {
    const auto it = std::lower_bound(c.variables.begin(), c.variables.end(), v);
    out.push_back(values[static_cast<size_t>(it - c.variables.begin())]);
  }
  return out;
}

std::optional<ApiError> read_recipient(const json& item, size_t i, CampaignRequest& c, CampaignRecipient& out) {
  if (!item.is_object()) return bad_request("invalid_type", recipient_field(i, ": expected an object"));
  if (auto e = check_known_fields(item, {"address", "vars"}, recipient_field(i, ": "))) return e;
  std::string address;
  if (auto e = read_string(item, "address", address))
    return ApiError{e->status, e->code, recipient_field(i, ".") + e->message};
  if (address.empty()) return unprocessable("missing_field", recipient_field(i, ".address: required"));
  if (auto e = read_address(recipient_field(i, ".address"), address, out.address)) return e;

  static const json kNoVars = json::object();
  auto vit = item.find("vars");
  const json& vars = (vit == item.end() || vit->is_null()) ? kNoVars : *vit;
  if (!vars.is_object()) return bad_request("invalid_type", recipient_field(i, ".vars: expected an object"));
  if (vars.size() > kMaxVarsPerRecipient)
    return unprocessable("too_many_vars", recipient_field(i, concat(".vars: at most ", std::to_string(kMaxVarsPerRecipient))));
  size_t bytes = 0;
  for (auto v = vars.begin(); v != vars.end(); ++v) {
    bytes += v.key().size() + (v->is_string() ? v->get_ref<const std::string&>().size() : 32);
    if (bytes > kMaxVarsBytesPerRecipient)
      return unprocessable("vars_too_large", recipient_field(i, concat(".vars: more than ",
                                                                      std::to_string(kMaxVarsBytesPerRecipient), " bytes")));
  }
  out.values.reserve(c.variables.size());
  for (const std::string& name : c.variables) {
    auto it = vars.find(name);
    if (it == vars.end())
      return unprocessable("missing_variable", recipient_field(i, concat(".vars: missing variable ", volley::quoted(name),
                                                                         " (used by ", used_by(c, name), ")")));
    auto text = merge_value_text(*it);
    if (!text)
      return unprocessable("invalid_variable", recipient_field(i, concat(".vars.", printable(name),
                                                                         ": must be a string, number or boolean")));
    out.values.push_back(std::move(*text));
  }
  // The subject is a header: its merged text must stay one line and fit.
  auto subject = c.subject.render(values_for(c, c.subject, out.values), EscapeMode::Plain);
  if (!subject) return unprocessable("too_long", recipient_field(i, ": merged subject too long"));
  if (auto e = check_header_text(recipient_field(i, ": merged subject"), subject.value(), kMaxSubjectBytes)) return e;
  return std::nullopt;
}

}  // namespace

ApiResult<CampaignRequest> parse_campaign_request(std::string_view body, const CampaignLimits& limits) {
  auto parsed = parse_json_object(body);
  if (!parsed) return parsed.error();
  return campaign_request_from_json(parsed.value(), limits);
}

ApiResult<CampaignRequest> campaign_request_from_json(const json& body, const CampaignLimits& limits) {
  if (!body.is_object()) return bad_request("invalid_type", "body: expected an object");
  if (auto e = check_known_fields(body, {"from", "subject", "text", "html", "recipients", "tags"})) return *e;
  CampaignRequest c;
  std::string from, subject, text, html;
  if (auto e = read_string(body, "from", from)) return *e;
  if (from.empty()) return unprocessable("missing_field", "from: required");
  if (auto e = read_address("from", from, c.from)) return *e;
  for (const char* key : {"subject", "text", "html"}) {
    std::string& source = key[0] == 's' ? subject : key[0] == 't' ? text : html;
    if (auto e = read_string(body, key, source)) return *e;
  }
  if (auto e = check_header_text("subject", subject, kMaxSubjectBytes)) return *e;
  c.subject_source = subject;
  if (text.empty() && html.empty()) return unprocessable("missing_content", "text or html: at least one is required");
  if (auto e = compile(body, "subject", c.subject)) return *e;
  if (auto e = compile(body, "text", c.text)) return *e;
  if (auto e = compile(body, "html", c.html)) return *e;
  if (auto e = read_string_array(body, "tags", c.tags)) return *e;
  if (auto e = check_tags(c.tags)) return *e;

  for (const MergeTemplate* t : {&c.subject, &c.text, &c.html})
    for (const std::string& v : t->variables()) c.variables.push_back(v);
  std::sort(c.variables.begin(), c.variables.end());
  c.variables.erase(std::unique(c.variables.begin(), c.variables.end()), c.variables.end());

  auto rit = body.find("recipients");
  if (rit == body.end() || rit->is_null() || (rit->is_array() && rit->empty()))
    return unprocessable("missing_recipient", "recipients: at least one is required");
  if (!rit->is_array()) return bad_request("invalid_type", "recipients: expected an array of objects");
  if (rit->size() > limits.max_recipients)
    return unprocessable("too_many_recipients",
                         concat("recipients: more than ", std::to_string(limits.max_recipients), " recipients"));
  const SizeModel sizes(c, subject, text, html);
  std::unordered_map<std::string, size_t> seen;
  seen.reserve(rit->size());
  c.recipients.resize(rit->size());
  for (size_t i = 0; i < rit->size(); ++i) {
    CampaignRecipient& r = c.recipients[i];
    if (auto e = read_recipient((*rit)[i], i, c, r)) return *e;
    auto [it, fresh] = seen.emplace(to_lower(r.address.address), i);
    if (!fresh)
      return unprocessable("duplicate_recipient",
                           recipient_field(i, concat(".address: same as recipients[", std::to_string(it->second), "]")));
    if (sizes.bound(r.values) > limits.max_message_bytes)
      return unprocessable("message_too_large",
                           recipient_field(i, concat(": merged message may exceed ",
                                                     std::to_string(limits.max_message_bytes), " bytes")));
  }
  return c;
}

Result<BuiltMessage> render_campaign_message(const CampaignRequest& c, size_t index, const HeaderList& extra_headers,
                                             const MessageStamp& stamp) {
  if (index >= c.recipients.size()) return make_error(ErrorCode::Invalid, "campaign recipient index out of range");
  const CampaignRecipient& r = c.recipients[index];
  MessageRequest m;
  m.from = c.from;
  m.to = {r.address};
  m.tags = c.tags;
  auto subject = c.subject.render(values_for(c, c.subject, r.values), EscapeMode::Plain);
  auto text = c.text.render(values_for(c, c.text, r.values), EscapeMode::Plain);
  auto html = c.html.render(values_for(c, c.html, r.values), EscapeMode::Html);
  for (const auto* part : {&subject, &text, &html})
    if (!part->ok()) return part->error();
  m.subject = std::move(subject).value();
  m.text = std::move(text).value();
  m.html = std::move(html).value();
  return build_message(m, extra_headers, stamp);
}

}  // namespace volley::platform
