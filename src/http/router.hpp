// Routes: method + path pattern -> handler, with the API-key scopes that may
// call each. Matching is pure; authentication and rate limits are the
// Dispatcher's (dispatcher.hpp). Routes are registered at start-up, before
// any connection, and never change afterwards (read from many threads).
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.hpp"

namespace volley::http {

// What an API key may do (one scope per key): read (look up messages,
// events, suppressions), send (submit messages and campaigns, look them up),
// admin (everything, including suppressions and webhooks).
enum class Scope { Read, Send, Admin };
const char* scope_name(Scope s);
std::optional<Scope> parse_scope(std::string_view s);

// A small set of scopes: ScopeSet{Scope::Send, Scope::Read}. An empty set
// means "admin keys only" (admin may call every route).
class ScopeSet {
 public:
  ScopeSet() = default;
  ScopeSet(std::initializer_list<Scope> scopes) {
    for (Scope s : scopes) bits_ |= bit(s);
  }
  bool allows(Scope s) const { return s == Scope::Admin || (bits_ & bit(s)) != 0; }

 private:
  static unsigned bit(Scope s) { return 1u << static_cast<unsigned>(s); }
  unsigned bits_ = 0;
};

// The authenticated key; empty key_name on public routes.
struct Caller {
  std::string key_name;
  Scope scope = Scope::Read;
};

using PathParams = std::vector<std::pair<std::string, std::string>>;  // "{id}" -> value (percent-decoded)
// Runs off the I/O threads (it may touch SQLite and the spool); may block.
// An exception becomes a 500 (logged).
using Handler = std::function<Response(const Request&, const Caller&, const PathParams&)>;

class Router {
 public:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "v1", "messages", "{id}"
    std::optional<ScopeSet> allowed;    // nullopt: public, no key
    Handler handler;
  };
  struct Match {
    const Route* route = nullptr;  // null: see status
    PathParams params;
    int status = 200;              // 404 no such path, 405 path known but not this method, 400 bad escape
    std::string allow;             // for 405: "GET, HEAD"
  };

  // pattern: "/v1/messages/{id}". `allowed` = nullopt: public (no key:
  // unsubscribe pages, /metrics); otherwise the key scopes that may call it
  // (admin always may). A GET route answers HEAD too (without the body).
  void add(std::string method, std::string pattern, std::optional<ScopeSet> allowed, Handler h);

  // `path` raw (as in Request::path). 404 for an unknown path, 405 (with
  // `allow`) for a known path and another method.
  Match match(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace volley::http
