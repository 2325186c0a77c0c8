// One-click unsubscribe (RFC 8058), the links of List-Unsubscribe: public
// routes, no API key; the token (platform/unsubscribe_token.hpp) is the
// authority, and it names the recipient, the sender domain and the
// campaign without showing the address.
//   POST /unsubscribe/{token}  body List-Unsubscribe=One-Click (what mail
//        providers send when the user clicks "unsubscribe"): suppressed at
//        once, 200.
//   GET  /unsubscribe/{token}  a small page with a confirm button (a POST
//        of the same form); a GET never changes anything, because link
//        scanners and previewers fetch every URL in a message.
// A token that does not verify is a 404 page; it says nothing more.
#include "api/api_routes.hpp"
#include "platform/merge_template.hpp"
#include "platform/one_click.hpp"
#include "platform/return_path.hpp"
#include "platform/unsubscribe_action.hpp"
#include "platform/unsubscribe_token.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::api {
namespace {

http::Response page(int status, std::string_view title, std::string_view body_html) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-store");
  // The page has no scripts, styles or frames of anyone else's.
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; form-action 'self'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.body = concat("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", title,
                  "</title><meta name=\"viewport\" content=\"width=device-width\"></head>\n<body>\n", body_html,
                  "\n</body></html>\n");
  return r;
}

http::Response invalid_link() {
  return page(404, "Unsubscribe", "<h1>This unsubscribe link is not valid</h1>\n<p>It may have been cut short or changed.</p>");
}

std::optional<platform::UnsubscribeFields> open_token(ApiContext& ctx, const std::string& token) {
  auto fields = platform::open_unsubscribe_token(platform::secret_bytes(ctx.platform), token);
  if (!fields) return std::nullopt;
  return std::move(*fields);
}

http::Response confirm_page(ApiContext& ctx, const http::Request& req, const http::PathParams& params) {
  auto who = open_token(ctx, params.at(0).second);
  if (!who) return invalid_link();
  std::string domain;
  platform::append_html_escaped(domain, who->sender_domain);
  std::string action;
  platform::append_html_escaped(action, req.path);
  return page(200, "Unsubscribe",
              concat("<h1>Unsubscribe</h1>\n<p>Stop receiving these emails from ", domain,
                     "?</p>\n<form method=\"post\" action=\"", action,
                     "\">\n<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\n"
                     "<button type=\"submit\">Unsubscribe</button>\n</form>"));
}

http::Response unsubscribe(ApiContext& ctx, const http::Request& req, const http::PathParams& params) {
  auto who = open_token(ctx, params.at(0).second);
  if (!who) {
    log::info("api.unsubscribe_refused").kv("client", req.peer.ip).kv("reason", "token does not verify");
    return invalid_link();
  }
  if (!platform::is_one_click_body(req.header("Content-Type"), req.body))
    return page(400, "Unsubscribe",
                "<h1>Unsubscribe</h1>\n<p>The request did not say <code>List-Unsubscribe=One-Click</code>.</p>");
  if (auto r = platform::record_unsubscribe(ctx.platform, *who, ctx.clock.unix_seconds(), "one-click"); !r)
    return storage_failure("unsubscribe", r.error());
  std::string domain;
  platform::append_html_escaped(domain, who->sender_domain);
  return page(200, "Unsubscribed",
              concat("<h1>You are unsubscribed</h1>\n<p>You will receive no more of these emails from ", domain, ".</p>"));
}

}  // namespace

void add_unsubscribe_routes(http::Router& router, ApiContext& ctx) {
  router.add("GET", "/unsubscribe/{token}", std::nullopt,
             [&ctx](const http::Request& req, const http::Caller&, const http::PathParams& params) {
               return confirm_page(ctx, req, params);
             });
  router.add("POST", "/unsubscribe/{token}", std::nullopt,
             [&ctx](const http::Request& req, const http::Caller&, const http::PathParams& params) {
               return unsubscribe(ctx, req, params);
             });
}

}  // namespace volley::api
