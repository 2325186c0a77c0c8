#include "dmarc/from_domain.hpp"

#include "dmarc/limits.hpp"
#include "util/strings.hpp"

namespace volley::dmarc {
namespace {

// The unfolded values of every "From:" field in the header block.
std::vector<std::string> from_fields(std::string_view block) {
  std::vector<std::string> out;
  bool in_from = false;
  while (!block.empty()) {
    size_t eol = block.find('\n');
    std::string_view line = block.substr(0, eol == std::string_view::npos ? block.size() : eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    if (line.front() == ' ' || line.front() == '\t') {
      if (in_from) out.back().append(line);
      continue;
    }
    in_from = false;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (iequals(name, "from")) {
      out.emplace_back(line.substr(colon + 1));
      in_from = true;
    }
  }
  return out;
}

std::string domain_of_addr(std::string_view addr) {
  size_t at = addr.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string d;
  for (char c : addr.substr(at + 1))
    if (c != ' ' && c != '\t') d.push_back(ascii_lower(c));
  while (!d.empty() && d.back() == '.') d.pop_back();
  return d;
}

// Splits a mailbox-list / address-list into the addr-specs it names.
Result<std::vector<std::string>> addresses(std::string_view v) {
  std::vector<std::string> out;
  std::string current;   // the text of the mailbox outside comments and quotes
  std::string angle;     // inside <...>
  bool have_angle = false, in_angle = false, in_quote = false;
  int comment = 0;
  auto flush = [&]() -> Result<void> {
    std::string addr = have_angle ? angle : current;
    have_angle = false;
    angle.clear();
    current.clear();
    // Trim.
    size_t b = addr.find_first_not_of(" \t");
    if (b == std::string::npos) return {};  // empty element ("a@b, , c@d" or a group's end)
    addr = addr.substr(b, addr.find_last_not_of(" \t") - b + 1);
    if (out.size() >= limits::kMaxFromAddresses) return make_error(ErrorCode::Invalid, "too many From addresses");
    out.push_back(addr);
    return {};
  };
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < v.size()) {
        (in_angle ? angle : current).push_back(v[++i]);
      } else if (c == '"') {
        in_quote = false;
      } else if (in_angle) {
        angle.push_back(c);
      } else {
        current.push_back('x');  // a display name's letters never look like an address
      }
      continue;
    }
    if (comment > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++comment;
      else if (c == ')') --comment;
      continue;
    }
    switch (c) {
      case '"': in_quote = true; break;
      case '(': ++comment; break;
      case '<': in_angle = true; have_angle = true; angle.clear(); break;
      case '>': in_angle = false; break;
      case ':':
        if (!in_angle) current.clear();  // "group-name:" starts a group
        else angle.push_back(c);
        break;
      case ',':
      case ';':
        if (in_angle) { angle.push_back(c); break; }
        if (auto f = flush(); !f) return f.error();
        break;
      default:
        (in_angle ? angle : current).push_back(c);
    }
  }
  if (in_quote || comment > 0 || in_angle) return make_error(ErrorCode::Invalid, "unterminated quote, comment or <address>");
  if (auto f = flush(); !f) return f.error();
  return out;
}

}  // namespace

Result<std::vector<std::string>> from_domains(std::string_view header_block) {
  auto fields = from_fields(header_block);
  if (fields.empty()) return make_error(ErrorCode::Invalid, "no From header");
  if (fields.size() > 1) return make_error(ErrorCode::Invalid, "more than one From header");
  auto addrs = addresses(fields[0]);
  if (!addrs) return addrs.error();
  if (addrs->empty()) return make_error(ErrorCode::Invalid, "From header without an address");
  std::vector<std::string> out;
  for (const auto& a : *addrs) {
    std::string d = domain_of_addr(a);
    if (d.empty() || d.front() == '[') return make_error(ErrorCode::Invalid, "From address without a domain name: " + a.substr(0, 64));
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::string> from_domain(std::string_view header_block) {
  auto all = from_domains(header_block);
  if (!all) return all.error();
  for (const auto& d : *all)
    if (d != all->front()) return make_error(ErrorCode::Invalid, "From addresses in more than one domain");
  return all->front();
}

}  // namespace volley::dmarc
