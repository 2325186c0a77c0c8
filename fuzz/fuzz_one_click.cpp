// libFuzzer target: is_one_click_body (platform/one_click), the RFC 8058
// POST body check. The input's first line is the Content-Type (none when
// the line is "-"), the rest the body. Beyond "no crash, no UB": a body
// counts only when it holds the key and the value (multipart: also the
// boundary), and for a form body the answer does not change when another
// pair is put in front of it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "platform/one_click.hpp"
#include "util/strings.hpp"

#include "fuzz_check.hpp"

using volley::platform::is_one_click_body;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view first = in.substr(0, nl);
  const std::optional<std::string_view> type = first == "-" ? std::nullopt : std::optional<std::string_view>(first);
  const std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  const bool one_click = is_one_click_body(type, body);
  const bool multipart = type && volley::istarts_with(volley::trim(*type), "multipart/form-data");
  if (one_click) {
    CHECK(body.find("One-Click") != std::string_view::npos);
    CHECK(body.find(multipart ? "List-Unsubscribe" : "List-Unsubscribe=One-Click") != std::string_view::npos);
    if (multipart) CHECK(body.find("--") != std::string_view::npos);
  }
  if (!multipart) CHECK(is_one_click_body(type, volley::concat("a=b&", body)) == one_click);
  return 0;
}
