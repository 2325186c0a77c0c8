// The tag=value list of RFC 6376 3.2, shared by DKIM-Signature fields and key
// records. Pure and bounded (limits.hpp); views point into the input, so the
// caller keeps the input alive and can compute where a value sits in it (the
// verifier blanks b= that way).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace volley::dkim {

struct Tag {
  std::string_view name;   // as written (tag names are case-sensitive)
  std::string_view value;  // without surrounding folding white space; may be empty
};

struct TagList {
  std::vector<Tag> tags;
  // The value of tag `name`, or nullopt if absent.
  std::optional<std::string_view> find(std::string_view name) const;
};

// Parses `text` (the part after "DKIM-Signature:" or a whole key record).
// Fails (ErrorCode::Invalid, a reason naming the tag) on bad syntax, a tag
// given twice, or a limit exceeded. A trailing ";" and white space are fine.
Result<TagList> parse_tag_list(std::string_view text);

// `value` with all folding white space (SP, HTAB, CR, LF) removed: b=, bh=
// and p= may be folded anywhere (RFC 6376 3.5).
std::string strip_fws(std::string_view value);

// Whether the colon-separated list `list` (FWS allowed around items, as in
// h=, q=, s=, t=) contains `item` exactly.
bool list_contains(std::string_view list, std::string_view item);

}  // namespace volley::dkim
