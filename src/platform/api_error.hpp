// The error value every request validator in src/platform returns: what the
// HTTP layer turns into {"error": {"code", "message"}} with `status`.
// 400 means "not the JSON we take" (bad syntax, wrong type), 422 "well-formed
// but not acceptable" (a bad address, a reserved header, over a limit).
// `message` names the field ("to[2]: invalid address") so a client can fix
// its request without reading our code.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace volley::platform {

struct ApiError {
  int status = 422;
  std::string code;     // stable, machine-readable: "invalid_address", "too_many_recipients"
  std::string message;  // for people; safe to echo (no raw control bytes)
};

inline ApiError bad_request(std::string code, std::string message) { return {400, std::move(code), std::move(message)}; }
inline ApiError unprocessable(std::string code, std::string message) { return {422, std::move(code), std::move(message)}; }

// A checked value-or-ApiError (volley::Result's shape, with the API error).
template <class T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  ApiResult(ApiError error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const ApiError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ApiError> v_;
};

}  // namespace volley::platform
