#include "platform/merge_template.hpp"

#include <gtest/gtest.h>

#include <string>

#include "platform/limits.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

using nlohmann::json;

struct RenderCase {
  std::string name;
  std::string tpl;
  json vars;
  EscapeMode mode;
  std::string expected;  // or the start of the error message when `ok` is false
  bool ok = true;
};

void PrintTo(const RenderCase& c, std::ostream* os) { *os << c.name; }

class MergeRender : public ::testing::TestWithParam<RenderCase> {};

TEST_P(MergeRender, Table) {
  const RenderCase& c = GetParam();
  auto t = MergeTemplate::compile(c.tpl);
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto out = t->render_vars(c.vars, c.mode);
  ASSERT_EQ(out.ok(), c.ok) << (out.ok() ? out.value() : out.error().message);
  if (c.ok) EXPECT_EQ(out.value(), c.expected);
  else EXPECT_EQ(out.error().message.rfind(c.expected, 0), 0u) << out.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Platform, MergeRender,
    ::testing::Values(
        RenderCase{"no_fields", "plain text", json::object(), EscapeMode::Plain, "plain text"},
        RenderCase{"empty", "", json::object(), EscapeMode::Plain, ""},
        RenderCase{"one", "Hi {{name}}!", {{"name", "Ann"}}, EscapeMode::Plain, "Hi Ann!"},
        RenderCase{"spaces", "Hi {{ name\t}}!", {{"name", "Ann"}}, EscapeMode::Plain, "Hi Ann!"},
        RenderCase{"repeat", "{{a}}{{a}}-{{b}}", {{"a", "x"}, {"b", "y"}}, EscapeMode::Plain, "xx-y"},
        RenderCase{"dotted_names", "{{user.first-name_2}}", {{"user.first-name_2", "Z"}}, EscapeMode::Plain, "Z"},
        RenderCase{"number", "n={{n}} f={{f}}", {{"n", 42}, {"f", 1.5}}, EscapeMode::Plain, "n=42 f=1.5"},
        RenderCase{"bool", "{{b}}", {{"b", true}}, EscapeMode::Plain, "true"},
        RenderCase{"plain_no_escape", "{{v}}", {{"v", "<b>&'\""}}, EscapeMode::Plain, "<b>&'\""},
        RenderCase{"html_escape", "<p>{{v}}</p>", {{"v", "<b>&'\""}}, EscapeMode::Html,
                   "<p>&lt;b&gt;&amp;&#39;&quot;</p>"},
        RenderCase{"lone_close_literal", "a }} b", json::object(), EscapeMode::Plain, "a }} b"},
        RenderCase{"value_with_braces_not_reparsed", "{{v}}", {{"v", "{{x}}"}}, EscapeMode::Plain, "{{x}}"},
        RenderCase{"utf8", "Grüße {{n}}", {{"n", "Zoë"}}, EscapeMode::Html, "Grüße Zoë"},
        RenderCase{"missing", "{{a}} {{b}}", {{"a", "x"}}, EscapeMode::Plain, "missing variable \"b\"", false},
        RenderCase{"null_value", "{{a}}", {{"a", nullptr}}, EscapeMode::Plain, "variable \"a\" must be", false},
        RenderCase{"object_value", "{{a}}", {{"a", json::object()}}, EscapeMode::Plain, "variable \"a\" must be",
                   false}),
    [](const ::testing::TestParamInfo<RenderCase>& info) { return info.param.name; });

struct CompileError {
  std::string name, tpl, message_start;
};

class MergeCompileErrors : public ::testing::TestWithParam<CompileError> {};

TEST_P(MergeCompileErrors, Table) {
  auto t = MergeTemplate::compile(GetParam().tpl);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message.rfind(GetParam().message_start, 0), 0u) << t.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Platform, MergeCompileErrors,
    ::testing::Values(CompileError{"unclosed", "Dear {{first_name", "\"{{\" without \"}}\" at byte 5"},
                      CompileError{"unclosed_single", "Dear {{first_name}", "\"{{\" without"},
                      CompileError{"empty", "{{}}", "empty merge field at byte 0"},
                      CompileError{"blank", "x{{  }}", "empty merge field at byte 1"},
                      CompileError{"space_in_name", "{{first name}}", "merge field name may hold"},
                      CompileError{"triple", "{{{name}}}", "merge field name may hold"},
                      CompileError{"long_name", concat("{{", std::string(65, 'a'), "}}"), "merge field name too long"},
                      CompileError{"too_big", std::string(kMaxTemplateBytes + 1, 'x'), "template larger"}),
    [](const ::testing::TestParamInfo<CompileError>& info) { return info.param.name; });

TEST(PlatformMergeTemplate, VariablesInFirstUseOrder) {
  auto t = MergeTemplate::compile("{{b}} {{a}} {{b}} {{c}}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->variables(), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(t->variable_index("a"), 1u);
  EXPECT_FALSE(t->variable_index("z").has_value());
}

TEST(PlatformMergeTemplate, RenderByValues) {
  auto t = MergeTemplate::compile("{{x}}-{{y}}");
  ASSERT_TRUE(t.ok());
  std::vector<std::string_view> values{"1", "2"};
  EXPECT_EQ(t->render(values, EscapeMode::Plain).value(), "1-2");
  std::vector<std::string_view> too_few{"1"};
  EXPECT_FALSE(t->render(too_few, EscapeMode::Plain).ok());
}

TEST(PlatformMergeTemplate, FieldCountAndOutputAreBounded) {
  std::string many;
  for (size_t i = 0; i <= kMaxTemplateFields; ++i) many += "{{a}}";
  EXPECT_FALSE(MergeTemplate::compile(many).ok());
  std::string ok_count;
  for (size_t i = 0; i < kMaxTemplateFields; ++i) ok_count += "{{a}}";
  auto t = MergeTemplate::compile(ok_count);
  ASSERT_TRUE(t.ok());
  const std::string big(kMaxRenderedBytes / kMaxTemplateFields + 1, 'v');
  std::vector<std::string_view> values{big};
  auto out = t->render(values, EscapeMode::Plain);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace volley::platform
