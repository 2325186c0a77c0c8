// RFC 8058 one-click POST bodies (platform/one_click.hpp): what counts as
// List-Unsubscribe=One-Click, form-urlencoded and multipart/form-data.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "platform/one_click.hpp"

namespace volley::platform {
namespace {

constexpr std::string_view kForm = "application/x-www-form-urlencoded";
constexpr std::string_view kMultipart = "multipart/form-data; boundary=XyZ";

std::string form_part(std::string_view name, std::string_view value) {
  return std::string("--XyZ\r\nContent-Disposition: form-data; name=\"") + std::string(name) + "\"\r\n\r\n" +
         std::string(value) + "\r\n";
}

TEST(OneClick, Bodies) {
  struct Row {
    std::optional<std::string_view> type;
    std::string body;
    bool one_click;
  } rows[] = {
      // RFC 8058 3.1's body, as Gmail and Yahoo send it.
      {kForm, "List-Unsubscribe=One-Click", true},
      {std::nullopt, "List-Unsubscribe=One-Click", true},
      {kForm, "List-Unsubscribe=One-Click\r\n", true},
      {kForm, "a=b&List-Unsubscribe=One-Click&c=d", true},
      {kForm, "a=b&List-Unsubscribe=One-Click", true},
      // Missing or other values.
      {kForm, "", false},
      {kForm, "List-Unsubscribe=", false},
      {kForm, "List-Unsubscribe=one-click", false},
      {kForm, "List-Unsubscribe=One-Click-Not", false},
      {kForm, "List-Unsubscribe=Yes", false},
      {kForm, "&&&", false},
      // The pair as a substring of another pair does not count.
      {kForm, "X-List-Unsubscribe=One-Click", false},
      {kForm, "a=List-Unsubscribe=One-Click", false},
      {kForm, "List-Unsubscribe=One-Click2&b=c", false},
      {kForm, "note=List-Unsubscribe%3DOne-Click", false},
      // multipart/form-data (RFC 7578), the other form RFC 8058 allows.
      {kMultipart, form_part("List-Unsubscribe", "One-Click") + "--XyZ--\r\n", true},
      {"multipart/form-data; boundary=\"XyZ\"", form_part("List-Unsubscribe", "One-Click") + "--XyZ--\r\n", true},
      {"Multipart/Form-Data;BOUNDARY=XyZ", form_part("List-Unsubscribe", "One-Click") + "--XyZ--\r\n", true},
      {kMultipart, form_part("a", "b") + form_part("List-Unsubscribe", "One-Click") + "--XyZ--\r\n", true},
      {kMultipart, "preamble\r\n" + form_part("List-Unsubscribe", "One-Click") + "--XyZ--", true},
      // ... where the key and the value must be in the same part.
      {kMultipart, form_part("List-Unsubscribe", "No") + form_part("note", "One-Click") + "--XyZ--\r\n", false},
      {kMultipart, form_part("X-List-Unsubscribe", "One-Click") + "--XyZ--\r\n", false},
      {kMultipart, form_part("List-Unsubscribe", "One-Click-Not") + "--XyZ--\r\n", false},
      {kMultipart, form_part("List-Unsubscribe", "") + "--XyZ--\r\n", false},
      // Never closed, another boundary, or none given.
      {kMultipart, form_part("List-Unsubscribe", "One-Click"), false},
      {"multipart/form-data; boundary=Other", form_part("List-Unsubscribe", "One-Click") + "--XyZ--\r\n", false},
      {"multipart/form-data", form_part("List-Unsubscribe", "One-Click") + "--XyZ--\r\n", false},
      // A form-urlencoded body with a multipart type is not read as a form.
      {kMultipart, "List-Unsubscribe=One-Click", false},
  };
  for (const auto& r : rows)
    EXPECT_EQ(is_one_click_body(r.type, r.body), r.one_click) << (r.type ? *r.type : "(no type)") << " | " << r.body;
}

}  // namespace
}  // namespace volley::platform
