#include "platform/mime_builder.hpp"

#include <gtest/gtest.h>

#include <string>

#include "platform/gmime_support.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

const MessageStamp kStamp{1'700'000'000, "abc123"};

MessageRequest basic() {
  MessageRequest r;
  r.from = {"Sender", "s@example.com"};
  r.to = {{"", "r@example.net"}};
  r.subject = "Hello";
  r.text = "Hi there\nsecond line\n";
  return r;
}

BuiltMessage build(const MessageRequest& r, const HeaderList& extra = {}) {
  auto built = build_message(r, extra, kStamp);
  EXPECT_TRUE(built.ok()) << (built.ok() ? "" : built.error().message);
  return built.ok() ? std::move(built).value() : BuiltMessage{};
}

std::string headers_of(const std::string& bytes) { return bytes.substr(0, bytes.find("\r\n\r\n") + 2); }

bool only_crlf(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i)
    if ((s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) || (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')))
      return false;
  return true;
}

std::string content_type_of(GMimeObject* o) {
  GMimeContentType* ct = g_mime_object_get_content_type(o);
  return concat(g_mime_content_type_get_media_type(ct), "/", g_mime_content_type_get_media_subtype(ct));
}

std::string decoded_text(GMimeObject* o) {
  GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(o));
  GPtr<GMimeStream> out(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(w, out.get());
  GByteArray* b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  return std::string(reinterpret_cast<const char*>(b->data), b->len);
}

TEST(PlatformMimeBuilder, TextOnlyGoldenShape) {
  BuiltMessage m = build(basic());
  EXPECT_EQ(m.message_id, "abc123@example.com");
  EXPECT_EQ(m.envelope_recipients, std::vector<std::string>{"r@example.net"});
  EXPECT_EQ(m.bytes,
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            "From: Sender <s@example.com>\r\n"
            "Subject: Hello\r\n"
            "To: r@example.net\r\n"
            "Message-Id: <abc123@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
            "Hi there\r\nsecond line\r\n");
}

TEST(PlatformMimeBuilder, HtmlOnly) {
  MessageRequest r = basic();
  r.text.clear();
  r.html = "<p>Hi</p>";
  BuiltMessage m = build(r);
  auto parsed = parse_message_bytes(m.bytes);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(content_type_of(g_mime_message_get_mime_part(parsed.get())), "text/html");
}

TEST(PlatformMimeBuilder, AlternativeInsideMixedWithAttachments) {
  MessageRequest r = basic();
  r.html = "<p>Hi</p>";
  r.attachments = {{"report.pdf", "application/pdf", std::string("%PDF\0\x01\xff", 7)},
                   {"Übersicht – März.txt", "text/plain", "naïve"}};
  BuiltMessage m = build(r);
  EXPECT_TRUE(only_crlf(m.bytes));
  auto parsed = parse_message_bytes(m.bytes);
  ASSERT_TRUE(parsed);
  GMimeObject* top = g_mime_message_get_mime_part(parsed.get());
  ASSERT_EQ(content_type_of(top), "multipart/mixed");
  GMimeMultipart* mixed = GMIME_MULTIPART(top);
  ASSERT_EQ(g_mime_multipart_get_count(mixed), 3);
  GMimeObject* alt = g_mime_multipart_get_part(mixed, 0);
  ASSERT_EQ(content_type_of(alt), "multipart/alternative");
  EXPECT_EQ(content_type_of(g_mime_multipart_get_part(GMIME_MULTIPART(alt), 0)), "text/plain");
  EXPECT_EQ(content_type_of(g_mime_multipart_get_part(GMIME_MULTIPART(alt), 1)), "text/html");
  GMimeObject* pdf = g_mime_multipart_get_part(mixed, 1);
  EXPECT_EQ(content_type_of(pdf), "application/pdf");
  EXPECT_STREQ(g_mime_part_get_filename(GMIME_PART(pdf)), "report.pdf");
  EXPECT_EQ(decoded_text(pdf), std::string("%PDF\0\x01\xff", 7));
  GMimeObject* txt = g_mime_multipart_get_part(mixed, 2);
  EXPECT_STREQ(g_mime_part_get_filename(GMIME_PART(txt)), "Übersicht – März.txt");
  EXPECT_EQ(decoded_text(txt), "naïve");
  // RFC 2231 on the wire, not raw UTF-8.
  EXPECT_NE(to_lower(m.bytes).find("filename*=utf-8''"), std::string::npos) << m.bytes;
  EXPECT_EQ(m.bytes.find("Übersicht"), std::string::npos);
}

TEST(PlatformMimeBuilder, NonAsciiSubjectAndNamesAreEncodedWords) {
  MessageRequest r = basic();
  r.subject = "Grüße aus Köln – 日本";
  r.from.name = "Zoë Ürban";
  r.cc = {{"Åsa", "a@example.org"}};
  r.text = "Grüße\n";
  BuiltMessage m = build(r);
  const std::string head = headers_of(m.bytes);
  for (unsigned char c : head) EXPECT_LT(c, 0x80) << head;
  EXPECT_NE(to_lower(head).find("subject: =?utf-8?"), std::string::npos) << head;
  EXPECT_NE(head.find("From: =?"), std::string::npos) << head;
  auto parsed = parse_message_bytes(m.bytes);
  ASSERT_TRUE(parsed);
  EXPECT_STREQ(g_mime_message_get_subject(parsed.get()), "Grüße aus Köln – 日本");
  InternetAddressList* from = g_mime_message_get_from(parsed.get());
  EXPECT_STREQ(internet_address_get_name(internet_address_list_get_address(from, 0)), "Zoë Ürban");
  GMimeObject* body = g_mime_message_get_mime_part(parsed.get());
  EXPECT_STREQ(g_mime_object_get_content_type_parameter(body, "charset"), "utf-8");
  for (unsigned char c : m.bytes) ASSERT_LT(c, 0x80) << m.bytes;  // 7-bit clean: bodies transfer-encoded
  EXPECT_EQ(decoded_text(body), "Grüße\n");  // the 8-bit text went through a transfer encoding
  EXPECT_TRUE(only_crlf(m.bytes));
}

TEST(PlatformMimeBuilder, BccNeverInHeaders) {
  MessageRequest r = basic();
  r.bcc = {{"Hidden", "hidden@example.org"}, {"", "R@example.net"}};
  BuiltMessage m = build(r);
  EXPECT_EQ(m.bytes.find("hidden@example.org"), std::string::npos);
  EXPECT_EQ(m.bytes.find("Bcc"), std::string::npos);
  EXPECT_EQ(m.envelope_recipients, (std::vector<std::string>{"r@example.net", "hidden@example.org"}));
}

TEST(PlatformMimeBuilder, LongLinesAreEncodedWithinLimits) {
  MessageRequest r = basic();
  r.html = std::string(5000, 'x');
  r.text = concat(std::string(3000, 'y'), "\r\nlone\rcr\n");
  BuiltMessage m = build(r);
  size_t start = 0;
  while (start < m.bytes.size()) {
    const size_t lf = m.bytes.find('\n', start);
    EXPECT_LE(lf - start, 999u);
    start = lf + 1;
  }
  EXPECT_TRUE(only_crlf(m.bytes));
  auto parsed = parse_message_bytes(m.bytes);
  ASSERT_TRUE(parsed);
  GMimeObject* alt = g_mime_message_get_mime_part(parsed.get());
  EXPECT_EQ(decoded_text(g_mime_multipart_get_part(GMIME_MULTIPART(alt), 1)), std::string(5000, 'x'));
}

TEST(PlatformMimeBuilder, CallerAndExtraHeaders) {
  MessageRequest r = basic();
  r.headers = {{"X-Campaign", "spring"}, {"X-Note", "café"}};
  BuiltMessage m = build(r, {{"List-Unsubscribe", "<https://h.example/unsubscribe/T>"},
                             {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}});
  const std::string head = headers_of(m.bytes);
  EXPECT_NE(head.find("X-Campaign: spring\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("List-Unsubscribe: <https://h.example/unsubscribe/T>\r\n"), std::string::npos);
  EXPECT_NE(head.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), std::string::npos);
  for (unsigned char c : head) EXPECT_LT(c, 0x80) << head;
  auto parsed = parse_message_bytes(m.bytes);
  EXPECT_EQ(header_text(GMIME_OBJECT(parsed.get()), "X-Note"), "café");
}

TEST(PlatformMimeBuilder, LongListUnsubscribeStaysALinkFoldedBetweenItems) {
  const std::string token(114, 'A');
  const std::string https = concat("<https://mail.example.test/unsubscribe/", token, ">");
  const std::string mailto = concat("<mailto:unsubscribe@example.test?subject=unsubscribe%20", token, ">");
  BuiltMessage m = build(basic(), {{"List-Unsubscribe", concat(https, ", ", mailto)}});
  const std::string head = headers_of(m.bytes);
  // Not RFC 2047 encoded-words (GMime's way with long unstructured text):
  // the URLs are written as they are, one per line.
  EXPECT_EQ(head.find("=?"), std::string::npos) << head;
  EXPECT_NE(head.find(concat("List-Unsubscribe: ", https, ",\r\n ", mailto, "\r\n")), std::string::npos) << head;
  EXPECT_TRUE(only_crlf(m.bytes));
  auto parsed = parse_message_bytes(m.bytes);
  EXPECT_EQ(header_text(GMIME_OBJECT(parsed.get()), "List-Unsubscribe"), concat(https, ", ", mailto));
}

TEST(PlatformMimeBuilder, RefusesBadExtraHeadersAndStamps) {
  EXPECT_FALSE(build_message(basic(), {{"X-A", "1\r\nBcc: x@y"}}, kStamp).ok());
  EXPECT_FALSE(build_message(basic(), {{"X A", "1"}}, kStamp).ok());
  EXPECT_FALSE(build_message(basic(), {}, MessageStamp{0, "a>b"}).ok());
  EXPECT_FALSE(build_message(basic(), {}, MessageStamp{0, ""}).ok());
}

TEST(PlatformMimeBuilder, StampsAreRandom) {
  FakeClock clock;
  MessageStamp a = make_stamp(clock), b = make_stamp(clock);
  EXPECT_EQ(a.date_unix_seconds, 1'700'000'000);
  EXPECT_EQ(a.id_local.size(), 26u);
  EXPECT_NE(a.id_local, b.id_local);
}

}  // namespace
}  // namespace volley::platform

namespace volley::platform {
namespace {

// Regression: the longest subject and header value validation accepts must
// build (GMime folds or encodes them), not fail at build time.
TEST(PlatformMimeBuilder, LongestAcceptedSubjectAndHeaderBuild) {
  MessageRequest r = basic();
  r.subject = std::string(998, 's');
  r.headers = {{"X-Long", std::string(998 - 8, 'h')}};
  auto m = build_message(r, {}, kStamp);
  ASSERT_TRUE(m.ok()) << m.error().message;
  auto parsed = parse_message_bytes(m->bytes);
  EXPECT_STREQ(g_mime_message_get_subject(parsed.get()), std::string(998, 's').c_str());
  r.subject = concat(std::string(500, 'a'), " ", std::string(497, 'b'));
  EXPECT_TRUE(build_message(r, {}, kStamp).ok());
}

}  // namespace
}  // namespace volley::platform
