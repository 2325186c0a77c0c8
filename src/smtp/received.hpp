// The trace and the fields the server adds to a message: Received (RFC 5321
// 4.4, with RFC 3848 protocol keywords), Message-ID and Date (RFC 5322).
// Pure string building; every client-supplied piece is sanitised first so a
// hostile HELO name cannot break the header structure.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace volley::smtp {

struct ReceivedInfo {
  std::string helo;            // client's HELO/EHLO argument (sanitised here)
  std::string client_ip;       // "192.0.2.1" or "2001:db8::1"
  std::string hostname;        // ours
  bool esmtp = true;
  bool tls = false;
  bool authenticated = false;
  bool smtputf8 = false;
  std::string tls_version;     // "TLSv1.3"
  std::string tls_cipher;      // "TLS_AES_256_GCM_SHA384"
  std::string auth_user;
  std::string queue_id;
  std::string single_recipient;  // "for <...>" only when there is exactly one
  std::time_t when = 0;
};

// "Received: ...\r\n" with folded continuation lines, ending in CRLF.
std::string make_received_header(const ReceivedInfo& info);
// "Mon, 23 Nov 2026 19:12:00 +0000"
std::string rfc5322_date(std::time_t when);
// Keeps letters, digits and ".-:[]_" ; anything else becomes '?'. Capped at 255.
std::string sanitize_for_header(std::string_view s);

}  // namespace volley::smtp
