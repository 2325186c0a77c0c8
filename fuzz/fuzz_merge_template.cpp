// libFuzzer target: merge-template compile and render on arbitrary bytes.
// Beyond "no crash, no UB": a compiled template renders back to its source
// when each field's value is its own "{{name}}" text, and HTML rendering
// never lets a value's markup through.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/merge_template.hpp"
#include "util/strings.hpp"

#include "fuzz_check.hpp"

using volley::platform::EscapeMode;
using volley::platform::MergeTemplate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto t = MergeTemplate::compile(in);
  if (!t.ok()) return 0;
  const auto& vars = t->variables();
  // Values "{{name}}": rendering restores the template with its spacing
  // normalised, so compiling the output gives the same variables.
  std::vector<std::string> self;
  for (const std::string& v : vars) self.push_back(volley::concat("{{", v, "}}"));
  std::vector<std::string_view> self_views(self.begin(), self.end());
  auto again = t->render(self_views, EscapeMode::Plain);
  CHECK(again.ok());
  auto recompiled = MergeTemplate::compile(again.value());
  CHECK(recompiled.ok());
  CHECK(recompiled->variables() == vars);
  // A hostile value in HTML mode: no '<' from a value reaches the output.
  std::vector<std::string_view> hostile(vars.size(), "<script>'\"&");
  auto html = t->render(hostile, EscapeMode::Html);
  CHECK(html.ok());
  size_t lt_in_template = 0, lt_out = 0;
  for (char c : in) lt_in_template += c == '<';
  for (char c : html.value()) lt_out += c == '<';
  CHECK(lt_out == lt_in_template);
  return 0;
}
