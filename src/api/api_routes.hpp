// The platform's HTTP API (SPEC section 6, "HTTP API (contract)"),
// registered on the HTTP server's router at start-up:
//   POST /v1/messages            send      api_messages.cpp
//   GET  /v1/messages/{id}       send, read
//   GET/POST /v1/suppressions    read / admin   api_suppressions.cpp
//   DELETE /v1/suppressions/{address}   admin
//   GET  /v1/events              read      api_events.cpp
//   POST /v1/campaigns           send      api_campaigns.cpp
//   GET  /v1/campaigns/{id}      send, read
//   GET/POST /unsubscribe/{token}  public (no key)   api_unsubscribe.cpp
// `ctx` must outlive the router.
#pragma once

#include "api/api_context.hpp"
#include "http/router.hpp"

namespace volley::api {

void add_message_routes(http::Router& router, ApiContext& ctx);
void add_suppression_routes(http::Router& router, ApiContext& ctx);
void add_event_routes(http::Router& router, ApiContext& ctx);
void add_campaign_routes(http::Router& router, ApiContext& ctx);
void add_unsubscribe_routes(http::Router& router, ApiContext& ctx);

inline void add_platform_routes(http::Router& router, ApiContext& ctx) {
  add_message_routes(router, ctx);
  add_suppression_routes(router, ctx);
  add_event_routes(router, ctx);
  add_campaign_routes(router, ctx);
  add_unsubscribe_routes(router, ctx);
}

}  // namespace volley::api
