#include "platform/campaign_request.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "platform/gmime_support.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

using nlohmann::json;

const CampaignLimits kLimits{1000, 1024 * 1024};
const MessageStamp kStamp{1'700'000'000, "c1"};

json campaign() {
  return json{{"from", "News <news@example.com>"},
              {"subject", "Hello {{first}}"},
              {"text", "Dear {{first}} {{last}}, code {{code}}"},
              {"html", "<p>Dear {{first}}</p>"},
              {"recipients",
               {{{"address", "a@example.net"}, {"vars", {{"first", "Ann"}, {"last", "Lee"}, {"code", 7}, {"x", "unused"}}}},
                {{"address", "Bob <b@example.net>"}, {"vars", {{"first", "<Bob>"}, {"last", "O'Neil"}, {"code", "B"}}}}}},
              {"tags", {"spring"}}};
}

TEST(PlatformCampaignRequest, ValidatesAndKeepsOnlyUsedVariables) {
  auto c = parse_campaign_request(campaign().dump(), kLimits);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->variables, (std::vector<std::string>{"code", "first", "last"}));
  ASSERT_EQ(c->recipients.size(), 2u);
  EXPECT_EQ(c->recipients[0].values, (std::vector<std::string>{"7", "Ann", "Lee"}));
  EXPECT_EQ(c->recipients[1].address.name, "Bob");
}

TEST(PlatformCampaignRequest, RendersOneRecipientOnDemand) {
  auto c = parse_campaign_request(campaign().dump(), kLimits);
  ASSERT_TRUE(c.ok());
  auto m = render_campaign_message(c.value(), 1, {{"List-Unsubscribe", "<https://h.example/unsubscribe/T>"}}, kStamp);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->envelope_recipients, std::vector<std::string>{"b@example.net"});
  auto parsed = parse_message_bytes(m->bytes);
  ASSERT_TRUE(parsed);
  EXPECT_STREQ(g_mime_message_get_subject(parsed.get()), "Hello <Bob>");
  EXPECT_NE(m->bytes.find("Dear <Bob> O'Neil, code B"), std::string::npos) << m->bytes;
  EXPECT_NE(m->bytes.find("<p>Dear &lt;Bob&gt;</p>"), std::string::npos) << m->bytes;
  EXPECT_EQ(m->bytes.find("a@example.net"), std::string::npos);
  EXPECT_NE(m->bytes.find("List-Unsubscribe: <https://h.example/unsubscribe/T>"), std::string::npos);
  EXPECT_FALSE(render_campaign_message(c.value(), 2, {}, kStamp).ok());
}

struct BadCampaign {
  std::string name;
  std::function<void(json&)> change;
  int status;
  std::string code, message_part;
};

void PrintTo(const BadCampaign& c, std::ostream* os) { *os << c.name; }

class BadCampaigns : public ::testing::TestWithParam<BadCampaign> {};

TEST_P(BadCampaigns, AreRefusedBeforeAnythingIsQueued) {
  json j = campaign();
  GetParam().change(j);
  auto c = parse_campaign_request(j.dump(), kLimits);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().status, GetParam().status);
  EXPECT_EQ(c.error().code, GetParam().code);
  EXPECT_NE(c.error().message.find(GetParam().message_part), std::string::npos) << c.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Platform, BadCampaigns,
    ::testing::Values(
        BadCampaign{"missing_var", [](json& j) { j["recipients"][1]["vars"].erase("last"); }, 422, "missing_variable",
                    "recipients[1].vars: missing variable \"last\" (used by text)"},
        BadCampaign{"no_vars", [](json& j) { j["recipients"][0].erase("vars"); }, 422, "missing_variable",
                    "recipients[0].vars: missing variable \"code\""},
        BadCampaign{"null_var", [](json& j) { j["recipients"][0]["vars"]["first"] = nullptr; }, 422,
                    "invalid_variable", "recipients[0].vars.first"},
        BadCampaign{"crlf_into_subject", [](json& j) { j["recipients"][1]["vars"]["first"] = "x\r\nBcc: v@e.example"; },
                    422, "invalid_header_text", "recipients[1]: merged subject"},
        BadCampaign{"bad_address", [](json& j) { j["recipients"][1]["address"] = "nope"; }, 422, "invalid_address",
                    "recipients[1].address"},
        BadCampaign{"duplicate", [](json& j) { j["recipients"][1]["address"] = "A@EXAMPLE.NET"; }, 422,
                    "duplicate_recipient", "recipients[1].address: same as recipients[0]"},
        BadCampaign{"unclosed_field", [](json& j) { j["html"] = "<p>{{first</p>"; }, 422, "invalid_template",
                    "html: \"{{\" without \"}}\" at byte 3"},
        BadCampaign{"no_recipients", [](json& j) { j["recipients"] = json::array(); }, 422, "missing_recipient",
                    "recipients"},
        BadCampaign{"no_content", [](json& j) { j.erase("text"); j.erase("html"); }, 422, "missing_content", "text"},
        BadCampaign{"no_from", [](json& j) { j.erase("from"); }, 422, "missing_field", "from"},
        BadCampaign{"recipient_string", [](json& j) { j["recipients"][0] = "a@example.net"; }, 400, "invalid_type",
                    "recipients[0]"},
        BadCampaign{"recipient_unknown_field", [](json& j) { j["recipients"][0]["name"] = "x"; }, 400,
                    "unknown_field", "recipients[0]"},
        BadCampaign{"vars_array", [](json& j) { j["recipients"][0]["vars"] = json::array(); }, 400, "invalid_type",
                    "recipients[0].vars"},
        BadCampaign{"too_many_vars",
                    [](json& j) {
                      for (int i = 0; i < 101; ++i) j["recipients"][0]["vars"][concat("v", std::to_string(i))] = "x";
                    },
                    422, "too_many_vars", "recipients[0].vars"},
        BadCampaign{"vars_too_big", [](json& j) { j["recipients"][0]["vars"]["x"] = std::string(9000, 'x'); }, 422,
                    "vars_too_large", "recipients[0].vars"},
        BadCampaign{"merged_too_big",
                    [](json& j) {
                      std::string html = "<p>";
                      for (int i = 0; i < 200; ++i) html += "{{last}}";
                      j["html"] = html;
                      j["recipients"][1]["vars"]["last"] = std::string(1000, '"');
                    },
                    422, "message_too_large", "recipients[1]"},
        BadCampaign{"too_many_recipients",
                    [](json& j) {
                      json list = json::array();
                      for (int i = 0; i < 1001; ++i)
                        list.push_back({{"address", concat("u", std::to_string(i), "@example.net")}});
                      j["recipients"] = list;
                    },
                    422, "too_many_recipients", "1000"}),
    [](const ::testing::TestParamInfo<BadCampaign>& info) { return info.param.name; });

TEST(PlatformCampaignRequest, HundredThousandRecipients) {
  json j = campaign();
  json list = json::array();
  for (int i = 0; i < 100'000; ++i)
    list.push_back({{"address", concat("user", std::to_string(i), "@example.net")},
                    {"vars", {{"first", "F"}, {"last", "L"}, {"code", i}}}});
  j["recipients"] = std::move(list);
  CampaignLimits limits;
  auto c = parse_campaign_request(j.dump(), limits);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->recipients.size(), 100'000u);
  auto m = render_campaign_message(c.value(), 99'999, {}, kStamp);
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->bytes.find("code 99999"), std::string::npos);
}

}  // namespace
}  // namespace volley::platform
