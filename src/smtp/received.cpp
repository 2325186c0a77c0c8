#include "smtp/received.hpp"

#include <cstdio>

namespace volley::smtp {

std::string sanitize_for_header(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 255)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
    out += ok ? static_cast<char>(c) : '?';
  }
  return out;
}

std::string rfc5322_date(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string make_received_header(const ReceivedInfo& info) {
  // RFC 3848 / RFC 6531 protocol keyword: [UTF8]SMTP / ESMTP + S (TLS) + A (auth).
  std::string proto = info.smtputf8 ? "UTF8SMTP" : (info.esmtp ? "ESMTP" : "SMTP");
  if (info.esmtp || info.smtputf8) {
    if (info.tls) proto += 'S';
    if (info.authenticated) proto += 'A';
  }
  std::string helo = info.helo.empty() ? "unknown" : sanitize_for_header(info.helo);
  std::string h = "Received: from " + helo + " ([" + sanitize_for_header(info.client_ip) + "])\r\n";
  if (info.tls)
    h += "\t(using " + sanitize_for_header(info.tls_version) + " with cipher " +
         sanitize_for_header(info.tls_cipher) + ")\r\n";
  if (info.authenticated) {
    // The user name passed SASL and the user store: keep it, minus anything
    // that could end the comment.
    std::string user;
    for (char c : info.auth_user)
      user += (c == '(' || c == ')' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    h += "\t(authenticated user " + user + ")\r\n";
  }
  h += "\tby " + info.hostname + " (Volley) with " + proto + " id " + info.queue_id;
  if (!info.single_recipient.empty()) h += "\r\n\tfor <" + info.single_recipient + ">";
  h += "; " + rfc5322_date(info.when) + "\r\n";
  return h;
}

}  // namespace volley::smtp
