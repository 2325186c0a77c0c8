#include "platform/merge_template.hpp"

#include "platform/limits.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

Error at(size_t offset, std::string_view what) {
  return make_error(ErrorCode::Invalid, concat(what, " at byte ", std::to_string(offset)));
}

}  // namespace

void append_html_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

std::optional<std::string> merge_value_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  return std::nullopt;
}

Result<MergeTemplate> MergeTemplate::compile(std::string_view text) {
  if (text.size() > kMaxTemplateBytes)
    return make_error(ErrorCode::Invalid, concat("template larger than ", std::to_string(kMaxTemplateBytes), " bytes"));
  MergeTemplate t;
  size_t pos = 0;
  while (true) {
    const size_t open = text.find("{{", pos);
    Piece piece;
    piece.literal_begin = static_cast<uint32_t>(t.literal_.size());
    t.literal_.append(text.substr(pos, open == text.npos ? text.npos : open - pos));
    piece.literal_size = static_cast<uint32_t>(t.literal_.size() - piece.literal_begin);
    if (open == text.npos) {
      t.pieces_.push_back(piece);
      break;
    }
    const size_t close = text.find("}}", open + 2);
    if (close == text.npos) return at(open, "\"{{\" without \"}}\"");
    std::string_view name = text.substr(open + 2, close - open - 2);
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name.empty()) return at(open, "empty merge field");
    if (name.size() > kMaxVariableNameBytes) return at(open, "merge field name too long");
    for (char c : name)
      if (!is_name_char(c)) return at(open, "merge field name may hold only A-Z a-z 0-9 _ . -");
    if (t.pieces_.size() >= kMaxTemplateFields)
      return make_error(ErrorCode::Invalid, concat("more than ", std::to_string(kMaxTemplateFields), " merge fields"));
    auto known = t.variable_index(name);
    if (!known) {
      known = t.variables_.size();
      t.variables_.emplace_back(name);
    }
    piece.variable = static_cast<int32_t>(*known);
    t.pieces_.push_back(piece);
    pos = close + 2;
  }
  return t;
}

std::optional<size_t> MergeTemplate::variable_index(std::string_view name) const {
  for (size_t i = 0; i < variables_.size(); ++i)
    if (variables_[i] == name) return i;
  return std::nullopt;
}

size_t MergeTemplate::uses(size_t index) const {
  size_t n = 0;
  for (const Piece& p : pieces_) n += p.variable == static_cast<int32_t>(index);
  return n;
}

Result<std::string> MergeTemplate::render(std::span<const std::string_view> values, EscapeMode mode) const {
  if (values.size() < variables_.size()) return make_error(ErrorCode::Invalid, "fewer values than variables");
  std::string out;
  out.reserve(literal_.size());
  for (const Piece& p : pieces_) {
    out.append(literal_, p.literal_begin, p.literal_size);
    if (p.variable >= 0) {
      const std::string_view v = values[static_cast<size_t>(p.variable)];
      if (mode == EscapeMode::Html) append_html_escaped(out, v);
      else out.append(v);
    }
    if (out.size() > kMaxRenderedBytes)
      return make_error(ErrorCode::Invalid, concat("merged text larger than ", std::to_string(kMaxRenderedBytes), " bytes"));
  }
  return out;
}

Result<std::string> MergeTemplate::render_vars(const nlohmann::json& vars, EscapeMode mode) const {
  std::vector<std::string> texts;
  texts.reserve(variables_.size());
  for (const std::string& name : variables_) {
    auto it = vars.is_object() ? vars.find(name) : vars.end();
    if (it == vars.end()) return make_error(ErrorCode::Invalid, concat("missing variable ", volley::quoted(name)));
    auto text = merge_value_text(*it);
    if (!text)
      return make_error(ErrorCode::Invalid, concat("variable ", volley::quoted(name), " must be a string, number or boolean"));
    texts.push_back(std::move(*text));
  }
  std::vector<std::string_view> views(texts.begin(), texts.end());
  return render(std::span<const std::string_view>(views), mode);
}

}  // namespace volley::platform
