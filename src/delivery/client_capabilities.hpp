// What a remote server offers, from its EHLO reply (RFC 5321 4.1.1.1 and the
// extension RFCs: 1870 SIZE, 2920 PIPELINING, 3207 STARTTLS, 6152 8BITMIME,
// 6531 SMTPUTF8, 3461 DSN, 3030 CHUNKING, 2034 ENHANCEDSTATUSCODES, 4954 AUTH).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/client_reply.hpp"

namespace volley::delivery {

struct ServerCapabilities {
  bool esmtp = false;  // EHLO was accepted (2xx); false after a HELO fallback
  bool pipelining = false, starttls = false, eight_bit_mime = false, smtputf8 = false, dsn = false,
       chunking = false, enhanced_status_codes = false;
  bool size = false;               // SIZE announced
  uint64_t max_size = 0;           // its value; 0 = no value, 0, or unreadable: no limit known
  std::vector<std::string> auth;   // SASL mechanisms, uppercased, each once, in announced order

  bool offers_auth(std::string_view mechanism) const;  // case-insensitive

  // Bounds on what a hostile EHLO reply can make us keep.
  static constexpr size_t kMaxAuthMechanisms = limits::kMaxAuthMechanisms;
  static constexpr size_t kMaxMechanismLength = limits::kMaxMechanismLength;  // RFC 4422 3.1
};

// The first line is the server's name and greeting and is skipped; each
// further line is "keyword [params]", keywords case-insensitive, unknown
// keywords ignored. Both "AUTH PLAIN LOGIN" and the old "AUTH=PLAIN LOGIN"
// form add mechanisms. A reply that is not 2xx gives all-false capabilities.
ServerCapabilities parse_ehlo_reply(const ServerReply& ehlo);

}  // namespace volley::delivery
