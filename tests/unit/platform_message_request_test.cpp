#include "platform/message_request.hpp"

#include <gtest/gtest.h>

#include <string>

#include "util/strings.hpp"

namespace volley::platform {
namespace {

using nlohmann::json;

const MessageLimits kLimits{10, 1024 * 1024};

json minimal() {
  return json{{"from", "Sender <s@example.com>"}, {"to", {"r@example.net"}}, {"subject", "Hi"}, {"text", "Hello"}};
}

ApiResult<MessageRequest> parse(const json& j, const MessageLimits& limits = kLimits) {
  return parse_message_request(j.dump(), limits);
}

TEST(PlatformMessageRequest, MinimalIsAccepted) {
  auto r = parse(minimal());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->from.name, "Sender");
  EXPECT_EQ(r->from.address, "s@example.com");
  ASSERT_EQ(r->to.size(), 1u);
  EXPECT_EQ(r->to[0].address, "r@example.net");
  EXPECT_EQ(r->subject, "Hi");
}

TEST(PlatformMessageRequest, FullRequest) {
  json j = minimal();
  j["cc"] = {"\"Last, First\" <c@example.net>"};
  j["bcc"] = {"b@example.net", "R@EXAMPLE.NET"};
  j["reply_to"] = "Zoë Ürban <z@example.com>";
  j["html"] = "<p>Hello</p>";
  j["headers"] = {{"X-Campaign", "spring"}, {"In-Reply-To", "<a@b>"}};
  j["attachments"] = {{{"filename", "a.txt"}, {"content_type", "Text/Plain"}, {"content_base64", "aGVs\r\nbG8="}}};
  j["tags"] = {"welcome"};
  j["metadata"] = {{"user", "42"}};
  auto r = parse(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cc[0].name, "Last, First");
  EXPECT_EQ(r->reply_to->name, "Zoë Ürban");
  ASSERT_EQ(r->attachments.size(), 1u);
  EXPECT_EQ(r->attachments[0].content, "hello");
  EXPECT_EQ(r->attachments[0].content_type, "text/plain");
  EXPECT_EQ(r->headers.size(), 2u);
  EXPECT_EQ(r->metadata[0], (std::pair<std::string, std::string>{"user", "42"}));
  // Envelope: to, cc, bcc in order, the second r@ dropped (case-insensitive).
  EXPECT_EQ(envelope_recipients(r.value()),
            (std::vector<std::string>{"r@example.net", "c@example.net", "b@example.net"}));
}

struct BadCase {
  const char* name;
  std::string body;  // JSON text (or not)
  int status;
  std::string code;
  std::string message_part;  // must appear in the message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

std::string with(const char* key, const json& value) {
  json j = minimal();
  j[key] = value;
  return j.dump();
}

std::string without(const char* key) {
  json j = minimal();
  j.erase(key);
  return j.dump();
}

class BadRequests : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadRequests, AreRefusedNamingTheField) {
  const BadCase& c = GetParam();
  auto r = parse_message_request(c.body, kLimits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, c.status);
  EXPECT_EQ(r.error().code, c.code);
  EXPECT_NE(r.error().message.find(c.message_part), std::string::npos) << r.error().message;
}

std::string deep_json() {
  std::string s(100, '[');
  s += std::string(100, ']');
  return s;
}

json many_recipients(size_t n) {
  json a = json::array();
  for (size_t i = 0; i < n; ++i) a.push_back(concat("u", std::to_string(i), "@example.net"));
  return a;
}

INSTANTIATE_TEST_SUITE_P(
    Platform, BadRequests,
    ::testing::Values(
        BadCase{"not_json", "{\"from\":", 400, "invalid_json", "JSON"},
        BadCase{"array_body", "[]", 400, "invalid_type", "body"},
        BadCase{"too_deep", deep_json(), 400, "invalid_json", "deeply"},
        BadCase{"from_number", with("from", 5), 400, "invalid_type", "from"},
        BadCase{"to_string", with("to", "r@example.net"), 400, "invalid_type", "to"},
        BadCase{"to_item_number", with("to", json{"a@b.example", 3}), 400, "invalid_type", "to[1]"},
        BadCase{"unknown_field", with("bbc", json{"a@b.example"}), 400, "unknown_field", "bbc"},
        BadCase{"missing_from", without("from"), 422, "missing_field", "from"},
        BadCase{"no_recipient", without("to"), 422, "missing_recipient", "recipient"},
        BadCase{"bad_to", with("to", json{"ok@example.net", "ok@example.net", "not an address"}), 422,
                "invalid_address", "to[2]"},
        BadCase{"address_literal", with("to", json{"a@[192.0.2.1]"}), 422, "invalid_address", "to[0]"},
        BadCase{"utf8_address", with("to", json{"zoë@example.net"}), 422, "invalid_address", "to[0]"},
        BadCase{"crlf_in_name", with("from", "A\r\nBcc: x@y.example <a@b.example>"), 422, "invalid_header_text", "from"},
        BadCase{"unbalanced_quote", with("from", "\"A <a@b.example>"), 422, "invalid_address", "from"},
        BadCase{"crlf_subject", with("subject", "x\r\nBcc: victim@example.org"), 422, "invalid_header_text", "subject"},
        BadCase{"lf_subject", with("subject", "x\nBcc: victim@example.org"), 422, "invalid_header_text", "subject"},
        BadCase{"nul_subject", with("subject", std::string("x\0y", 3)), 422, "invalid_header_text", "subject"},
        BadCase{"long_subject", with("subject", std::string(999, 'a')), 422, "too_long", "subject"},
        BadCase{"header_value_crlf", with("headers", json{{"X-A", "1\r\nBcc: v@e.example"}}), 422,
                "invalid_header_text", "headers.X-A"},
        BadCase{"header_line_too_long", with("headers", json{{"X-A", std::string(995, 'v')}}), 422, "too_long",
                "headers.X-A"},
        BadCase{"header_name_space", with("headers", json{{"X A", "1"}}), 422, "invalid_header_name", "headers.X A"},
        BadCase{"header_name_colon", with("headers", json{{"X:A", "1"}}), 422, "invalid_header_name", "X:A"},
        BadCase{"header_reserved_from", with("headers", json{{"from", "x@y.example"}}), 422, "reserved_header", "from"},
        BadCase{"header_reserved_content", with("headers", json{{"Content-Type", "text/html"}}), 422,
                "reserved_header", "Content-Type"},
        BadCase{"header_reserved_dkim", with("headers", json{{"DKIM-Signature", "v=1"}}), 422, "reserved_header",
                "DKIM"},
        BadCase{"header_reserved_volley", with("headers", json{{"X-Volley-Id", "1"}}), 422, "reserved_header", "X-V"},
        BadCase{"header_value_number", with("headers", json{{"X-A", 1}}), 400, "invalid_type", "headers.X-A"},
        BadCase{"bad_base64", with("attachments", json{{{"filename", "a"}, {"content_base64", "!!!"}}}), 422,
                "invalid_base64", "attachments[0].content_base64"},
        BadCase{"filename_crlf",
                with("attachments", json{{{"filename", "a\r\n.txt"}, {"content_base64", ""}}}), 422,
                "invalid_header_text", "attachments[0].filename"},
        BadCase{"no_filename", with("attachments", json{{{"content_base64", "YQ=="}}}), 422, "missing_field",
                "attachments[0].filename"},
        BadCase{"multipart_attachment",
                with("attachments", json{{{"filename", "a"}, {"content_type", "multipart/mixed"}, {"content_base64", ""}}}),
                422, "invalid_content_type", "attachments[0].content_type"},
        BadCase{"content_type_params",
                with("attachments", json{{{"filename", "a"}, {"content_type", "text/plain; x=y"}, {"content_base64", ""}}}),
                422, "invalid_content_type", "attachments[0]"},
        BadCase{"attachment_unknown_field", with("attachments", json{{{"filename", "a"}, {"data", ""}}}), 400,
                "unknown_field", "attachments[0]"},
        BadCase{"no_content", without("text"), 422, "missing_content", "text or html"},
        BadCase{"too_many_recipients", with("to", many_recipients(11)), 422, "too_many_recipients", "10"},
        BadCase{"too_large", with("text", std::string(2 * 1024 * 1024, 'a')), 422, "message_too_large", "1048576"},
        BadCase{"tag_crlf", with("tags", json{"a\nb"}), 422, "invalid_header_text", "tags[0]"},
        BadCase{"too_many_tags", with("tags", json{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}), 422,
                "too_many_tags", "tags"},
        BadCase{"metadata_number", with("metadata", json{{"k", 1}}), 400, "invalid_type", "metadata.k"},
        BadCase{"metadata_crlf", with("metadata", json{{"k", "a\r\n"}}), 422, "invalid_header_text", "metadata.k"},
        BadCase{"metadata_too_big", with("metadata", json{{"k", std::string(600, 'v')}}), 422, "too_long",
                "metadata.k"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(PlatformMessageRequest, DuplicateRecipientsCountOnce) {
  json j = minimal();
  json to = json::array();
  for (int i = 0; i < 20; ++i) to.push_back("same@example.net");
  j["to"] = to;
  auto r = parse(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(envelope_recipients(r.value()).size(), 1u);
}

TEST(PlatformMessageRequest, NullMeansAbsent) {
  json j = minimal();
  j["cc"] = nullptr;
  j["html"] = nullptr;
  EXPECT_TRUE(parse(j).ok());
}

struct AddressCase {
  std::string text;
  bool ok;
  std::string name, address;
};

class NamedAddresses : public ::testing::TestWithParam<AddressCase> {};

TEST_P(NamedAddresses, Table) {
  const AddressCase& c = GetParam();
  NamedAddress a;
  auto why = parse_named_address(c.text, a);
  EXPECT_EQ(!why.has_value(), c.ok) << (why ? *why : "");
  if (c.ok) {
    EXPECT_EQ(a.name, c.name);
    EXPECT_EQ(a.address, c.address);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Platform, NamedAddresses,
    ::testing::Values(AddressCase{"a@b.example", true, "", "a@b.example"},
                      AddressCase{"  a@b.example ", true, "", "a@b.example"},
                      AddressCase{"<a@b.example>", true, "", "a@b.example"},
                      AddressCase{"Ann Lee <a@b.example>", true, "Ann Lee", "a@b.example"},
                      AddressCase{"\"Lee, Ann\" <a@b.example>", true, "Lee, Ann", "a@b.example"},
                      AddressCase{"\"A \\\"q\\\" B\" <a@b.example>", true, "A \"q\" B", "a@b.example"},
                      AddressCase{"Åsa Ström <a@b.example>", true, "Åsa Ström", "a@b.example"},
                      AddressCase{"\"a b\"@b.example", true, "", "\"a b\"@b.example"},
                      AddressCase{"", false, "", ""}, AddressCase{"a", false, "", ""},
                      AddressCase{"a@b.example>", false, "", ""}, AddressCase{"A <a@b.example", false, "", ""},
                      AddressCase{"A\t<a@b.example>", true, "A", "a@b.example"},
                      AddressCase{"A\x01 <a@b.example>", false, "", ""},
                      AddressCase{"\"x <a@b.example>", false, "", ""},
                      AddressCase{"a@b.example, c@d.example", false, "", ""},
                      AddressCase{"\xff <a@b.example>", false, "", ""}));

TEST(PlatformRequestFields, ReservedHeaders) {
  for (const char* h : {"From", "TO", "cc", "Bcc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
                        "content-transfer-encoding", "DKIM-Signature", "Received", "Return-Path",
                        "List-Unsubscribe", "X-Volley-Message"})
    EXPECT_TRUE(is_reserved_header(h)) << h;
  for (const char* h : {"X-Mailer", "In-Reply-To", "References", "Keywords", "X-Content"})
    EXPECT_FALSE(is_reserved_header(h)) << h;
}

}  // namespace
}  // namespace volley::platform
