// Organizational domains (RFC 7489 3.2) from the Public Suffix List, through
// libpsl over Debian's `publicsuffix` package (the list is data that changes;
// the package keeps it current, so it is read at start, not compiled in).
//
// The organizational domain of a name is its public suffix plus one label
// ("mail.example.co.uk" -> "example.co.uk"); a name that is itself a public
// suffix is its own organizational domain. DMARC uses it for relaxed
// alignment and to find the policy when the From domain has none.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

struct psl_ctx_st;

namespace volley::dmarc {

// Where Debian's publicsuffix package puts the list.
inline constexpr const char* kDefaultPublicSuffixList = "/usr/share/publicsuffix/public_suffix_list.dat";

class PublicSuffixList {
 public:
  // Loads the list; an unreadable or empty file is an error naming it.
  static Result<std::shared_ptr<const PublicSuffixList>> load(const std::string& path = kDefaultPublicSuffixList);
  ~PublicSuffixList();
  PublicSuffixList(const PublicSuffixList&) = delete;
  PublicSuffixList& operator=(const PublicSuffixList&) = delete;

  // `domain` lowercased, without a trailing dot; "" for an empty or
  // unusable name. Thread-safe (the list is read-only once loaded).
  std::string organizational_domain(std::string_view domain) const;
  bool is_public_suffix(std::string_view domain) const;

 private:
  explicit PublicSuffixList(psl_ctx_st* ctx) : ctx_(ctx) {}
  psl_ctx_st* ctx_;
};

}  // namespace volley::dmarc
