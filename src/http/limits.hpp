// Every bound the HTTP server puts on a client, with its reason. Hostile
// input meets one of these long before it can cost memory or time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace volley::http {

// Request line plus header fields: an API request's headers are a few
// hundred bytes; 16 KiB leaves room for long query strings and tokens while
// bounding what one connection makes us buffer before a request is known
// (nginx's large_client_header_buffers is 4 x 8k). Beyond it: 431, close.
inline constexpr size_t kMaxHeaderBytes = 16 * 1024;
// Header fields per request (Apache's LimitRequestFields): each costs a
// vector entry and a scan; real clients send about ten. Beyond it: 431.
inline constexpr size_t kMaxHeaderFields = 100;
// Requests answered on one connection before it is closed (nginx's
// keepalive_requests): bounds what one connection may hold on to.
inline constexpr unsigned kMaxRequestsPerConnection = 1000;
// Responses waiting to be written before the session answers more
// pipelined requests: thousands of requests in one write cannot make it
// build megabytes of output.
inline constexpr size_t kOutputHighWater = 64 * 1024;

// Deadlines (each capped by the matching [limits] key, so tests and careful
// operators can shorten them):
// the request line and headers, from their first byte (limits.command_timeout):
// a slow-loris client dribbling a header cannot reset it;
inline constexpr std::chrono::seconds kHeaderTimeout{30};
// an idle keep-alive connection between requests (limits.command_timeout):
// clients reconnect cheaply, an idle socket costs us a slot;
inline constexpr std::chrono::seconds kKeepAliveTimeout{60};
// the longest gap while a body arrives (limits.data_timeout), plus
// limits.min_data_rate on average after it.
inline constexpr std::chrono::seconds kBodyIdleTimeout{60};

}  // namespace volley::http
