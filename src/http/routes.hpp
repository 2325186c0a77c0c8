// Routes the HTTP server itself provides (the platform's API routes are
// registered next to them at start-up, app/server.cpp).
#pragma once

#include <memory>

#include "auth/api_key_directory.hpp"
#include "http/dispatcher.hpp"
#include "http/router.hpp"

namespace volley::http {

// GET /v1/apikeys/self (any key): {"name": ..., "scope": ...}, the key's own
// identity, so a client (and the tests) can check a key end to end.
// GET /v1/apikeys (admin keys): {"keys": [{"name", "scope"}]}, the active
// keys (never a key or its hash); only with `keys`.
void add_builtin_routes(Router& router, std::shared_ptr<const auth::ApiKeyDirectory> keys = nullptr);

// API keys checked against the daemon's in-memory snapshot.
std::shared_ptr<const KeyCheck> make_key_check(std::shared_ptr<const auth::ApiKeyDirectory> keys);

}  // namespace volley::http
