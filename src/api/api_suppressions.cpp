// GET/POST /v1/suppressions and DELETE /v1/suppressions/{address}: the
// suppression list per sender domain ("domain": "" or absent = every sender
// domain). Reading needs a read key; changing it an admin key.
#include <nlohmann/json.hpp>

#include "api/api_routes.hpp"
#include "platform/request_fields.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::api {
namespace {

constexpr size_t kDefaultPage = 100;

nlohmann::json entry_json(const platform::Suppression& s) {
  return {{"address", s.address}, {"domain", s.domain}, {"reason", platform::reason_name(s.reason)},
          {"created_at", s.created_at}, {"detail", s.detail}};
}

// A sender domain as given ("" allowed: every domain): letters, digits,
// dots and hyphens only, so it can never be mistaken for anything else.
bool plausible_domain(std::string_view d) {
  if (d.size() > 253) return false;
  for (char c : d)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) return false;
  return true;
}

http::Response list(ApiContext& ctx, const http::Request& req) {
  auto limit = page_limit(req, kDefaultPage, platform::kMaxSuppressionPage);
  if (!limit) return http::Response::error(400, "invalid_parameter", "limit: expected a number from 1");
  const std::string after = req.query_param("after").value_or("");
  const std::string after_domain = req.query_param("after_domain").value_or("");
  auto page = ctx.platform.suppressions().list(after, after_domain, *limit);
  if (!page) return storage_failure("suppression list", page.error());
  nlohmann::json items = nlohmann::json::array();
  for (const auto& s : *page) items.push_back(entry_json(s));
  nlohmann::json next = nullptr;
  if (page->size() == *limit) next = {{"after", page->back().address}, {"after_domain", page->back().domain}};
  return http::Response::json(200, {{"suppressions", items}, {"next", next}});
}

http::Response add(ApiContext& ctx, const http::Request& req, const http::Caller& caller) {
  auto body = platform::parse_json_object(req.body);
  if (!body) return error_response(body.error());
  if (auto e = platform::check_known_fields(body.value(), {"address", "reason", "domain", "detail"})) return error_response(*e);
  std::string address_text, reason_text = "manual", domain, detail;
  for (auto [key, out] : {std::pair{"address", &address_text}, std::pair{"reason", &reason_text},
                          std::pair{"domain", &domain}, std::pair{"detail", &detail}})
    if (auto e = platform::read_string(body.value(), key, *out)) return error_response(*e);
  platform::NamedAddress address;
  if (address_text.empty()) return http::Response::error(422, "missing_field", "address: required");
  if (auto why = platform::parse_named_address(address_text, address))
    return http::Response::error(422, "invalid_address", concat("address: ", *why));
  auto reason = platform::parse_reason(reason_text);
  if (!reason)
    return http::Response::error(422, "invalid_reason",
                                 "reason: expected hard_bounce, complaint, unsubscribe or manual");
  if (!plausible_domain(domain)) return http::Response::error(422, "invalid_domain", "domain: not a domain name");
  if (platform::has_line_break_or_nul(detail) || detail.size() > 1000)
    return http::Response::error(422, "invalid_detail", "detail: at most 1000 characters on one line");
  platform::Suppression s{domain, address.address, *reason, ctx.clock.unix_seconds(), detail};
  s.domain = to_lower(s.domain);
  s.address = to_lower(s.address);
  if (auto r = ctx.platform.suppressions().add(s); !r) return storage_failure("suppression add", r.error());
  log::info("api.suppressed").kv("key", caller.key_name).kv("rcpt", s.address).kv("domain", s.domain).kv("reason", reason_text);
  return http::Response::json(201, entry_json(s));
}

http::Response remove(ApiContext& ctx, const http::Request& req, const http::PathParams& params) {
  const std::string& address = params.at(0).second;
  std::optional<std::string> domain = req.query_param("domain");
  auto r = ctx.platform.suppressions().remove(domain, address);
  if (!r) {
    if (r.error().code == ErrorCode::NotFound)
      return http::Response::error(404, "not_found", concat(quoted(address, 320), " is not suppressed"));
    return storage_failure("suppression removal", r.error());
  }
  return http::Response::json(200, {{"address", to_lower(address)}, {"deleted", true}});
}

}  // namespace

void add_suppression_routes(http::Router& router, ApiContext& ctx) {
  router.add("GET", "/v1/suppressions", http::ScopeSet{http::Scope::Read},
             [&ctx](const http::Request& req, const http::Caller&, const http::PathParams&) { return list(ctx, req); });
  router.add("POST", "/v1/suppressions", http::ScopeSet{},
             [&ctx](const http::Request& req, const http::Caller& caller, const http::PathParams&) {
               return add(ctx, req, caller);
             });
  router.add("DELETE", "/v1/suppressions/{address}", http::ScopeSet{},
             [&ctx](const http::Request& req, const http::Caller&, const http::PathParams& params) {
               return remove(ctx, req, params);
             });
}

}  // namespace volley::api
