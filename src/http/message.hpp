// An HTTP request as handlers see it and the response they give back. The
// session owns the wire format (framing, Date, Content-Length, Connection);
// handlers deal only in these values.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/peer.hpp"

namespace volley::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // as sent: methods are case-sensitive (RFC 9110 9.1)
  std::string target;  // the request target as sent: "/v1/messages/abc?x=1"
  std::string path;    // its path, raw (not percent-decoded): "/v1/messages/abc"
  std::string query;   // after '?', raw; "" when none
  HeaderList headers;  // in order, names as sent
  std::string body;
  net::Peer peer;

  // The first field of that name (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;
  // A query parameter, percent-decoded ('+' is a space); nullopt when absent
  // or not decodable.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  HeaderList headers;  // besides those the session adds (Date, Content-Length, Connection)
  std::string body;

  static Response json(int status, const nlohmann::json& body);
  // The one error shape: {"error": {"code": "...", "message": "..."}}.
  static Response error(int status, std::string_view code, std::string_view message);
};

// "OK", "Not Found"...; "Unknown" for codes we never send.
std::string_view reason_phrase(int status);
// RFC 3986 percent-decoding; '+' is a space only when `plus_is_space`
// (query strings). nullopt on a bad escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);
// The IMF-fixdate of a unix time: "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7).
std::string http_date(int64_t unix_seconds);

}  // namespace volley::http
