// Merge fields: "Hello {{ first_name }}" compiled once, rendered per
// recipient. Names are [A-Za-z0-9_.-]{1,64}; spaces and tabs inside the
// braces are allowed. There is no escape for a literal "{{": a "{{" without
// its "}}", or with anything but a name inside, is a compile error, not
// literal text — a typo must stop a campaign, not go out to every recipient
// as "Dear {{first_name". A lone "}}" is literal.
//
// Compile once, render many: a compiled template is its literal text plus a
// list of (literal span, variable index) pieces; rendering copies spans and
// values, so 100,000 recipients share one template.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley::platform {

enum class EscapeMode {
  Plain,  // values as they are (text bodies, subjects)
  Html,   // & < > " ' escaped in values (HTML bodies); the template's own markup untouched
};

class MergeTemplate {
 public:
  MergeTemplate() = default;
  // Errors (ErrorCode::Invalid) name the byte offset: unclosed or empty
  // field, bad name; over kMaxTemplateBytes or kMaxTemplateFields.
  static Result<MergeTemplate> compile(std::string_view text);

  // The variables used, each once, in order of first use.
  const std::vector<std::string>& variables() const { return variables_; }
  // Index of `name` in variables(), or nullopt.
  std::optional<size_t> variable_index(std::string_view name) const;
  // How many fields name variables()[index].
  size_t uses(size_t index) const;

  // `values[i]` is the value of variables()[i] (already text). Fails only
  // when the output would exceed kMaxRenderedBytes.
  Result<std::string> render(std::span<const std::string_view> values, EscapeMode mode) const;
  // With a JSON object of variables: strings as-is, numbers and booleans as
  // their JSON text. A missing variable, or one that is null, an array or an
  // object, fails with an error naming it.
  Result<std::string> render_vars(const nlohmann::json& vars, EscapeMode mode) const;

 private:
  struct Piece {
    uint32_t literal_begin = 0, literal_size = 0;  // span of literal_
    int32_t variable = -1;                         // index into variables_, or -1 at the end
  };
  std::string literal_;
  std::vector<Piece> pieces_;
  std::vector<std::string> variables_;
};

// The text a JSON value merges as (string as-is, number/bool as JSON text),
// or nullopt for null, arrays and objects.
std::optional<std::string> merge_value_text(const nlohmann::json& value);

// Appends `value` to `out` with & < > " ' as HTML character references.
void append_html_escaped(std::string& out, std::string_view value);

}  // namespace volley::platform
