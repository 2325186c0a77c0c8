#include "dmarc/public_suffix.hpp"

#include <libpsl.h>

#include "util/strings.hpp"

namespace volley::dmarc {
namespace {

std::string normalise(std::string_view domain) {
  std::string d = to_lower(std::string(domain));
  while (!d.empty() && d.back() == '.') d.pop_back();
  return d;
}

}  // namespace

Result<std::shared_ptr<const PublicSuffixList>> PublicSuffixList::load(const std::string& path) {
  psl_ctx_t* ctx = psl_load_file(path.c_str());
  if (ctx == nullptr) return make_error(ErrorCode::Io, "cannot read the Public Suffix List " + path);
  if (psl_suffix_count(ctx) <= 0) {
    psl_free(ctx);
    return make_error(ErrorCode::Invalid, "the Public Suffix List " + path + " has no rules");
  }
  return std::shared_ptr<const PublicSuffixList>(new PublicSuffixList(ctx));
}

PublicSuffixList::~PublicSuffixList() { psl_free(ctx_); }

std::string PublicSuffixList::organizational_domain(std::string_view domain) const {
  const std::string d = normalise(domain);
  if (d.empty()) return {};
  // NULL when the name is itself a public suffix (or has none): then the
  // name is its own organizational domain (RFC 7489 3.2, step 3).
  const char* reg = psl_registrable_domain(ctx_, d.c_str());
  return reg ? std::string(reg) : d;
}

bool PublicSuffixList::is_public_suffix(std::string_view domain) const {
  const std::string d = normalise(domain);
  return !d.empty() && psl_is_public_suffix2(ctx_, d.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

}  // namespace volley::dmarc
