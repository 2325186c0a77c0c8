#include "dkim/header_hash.hpp"

#include "dkim/header_fields.hpp"
#include "util/strings.hpp"

namespace volley::dkim {

std::string signing_input(std::string_view header_block, const std::vector<std::string>& signed_headers,
                          Canon canon, std::string_view signature_field) {
  auto fields = split_header_fields(header_block);
  std::vector<bool> used(fields.size(), false);
  std::string out;
  for (const auto& name : signed_headers) {
    // The last instance not yet used: a name listed twice signs the last two
    // fields; listed once more than present, it signs a "null" field, so a
    // field of that name added later breaks the signature.
    for (size_t i = fields.size(); i-- > 0;) {
      if (used[i] || !iequals(fields[i].name, name)) continue;
      used[i] = true;
      out += canonicalize_header(fields[i].raw, canon);
      break;
    }
  }
  std::string self = canonicalize_header(signature_field, canon);
  while (!self.empty() && (self.back() == '\n' || self.back() == '\r')) self.pop_back();
  out += self;
  return out;
}

}  // namespace volley::dkim
