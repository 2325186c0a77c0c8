// Delivery status notifications (RFC 3464 report format, RFC 3461 SMTP DSN
// semantics, RFC 6522 multipart/report). Pure string building: the delivery
// engine gathers the outcome of each recipient, this module turns it into a
// complete RFC 5322 message (CRLF line endings) ready to be queued from <>.
//
// Everything that came from a remote server or a client (reply texts,
// addresses, ENVID) is treated as hostile: CR, LF and other control bytes
// never reach a header line, non-ASCII is written as RFC 6533 "\x{HEX}"
// escapes (an address with non-ASCII is reported with address type "utf-8",
// since "rfc822" cannot hold it), and no line exceeds 998 octets. The only 8-bit data a DSN can
// contain is the returned original message itself (see build_dsn).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/limits.hpp"

namespace volley::delivery {

enum class DsnAction { Failed, Delayed, Delivered, Relayed };

// "failed" | "delayed" | "delivered" | "relayed" (RFC 3464 2.3.3).
std::string_view action_name(DsnAction action);

struct DsnRecipient {
  std::string final_recipient;            // the address tried (rfc822)
  std::string orcpt_type, orcpt_address;  // from queue::Recipient; "" = none -> no Original-Recipient field
  DsnAction action = DsnAction::Failed;
  std::string status;                     // "5.1.1"; anything malformed becomes x.0.0 of the action's class
  std::string remote_mta;                 // "mx1.example.com" or "" (then no Remote-MTA field)
  std::string diagnostic;                 // remote reply "550 5.1.1 No such user" -> "Diagnostic-Code: smtp; ..."; "" none
  std::string reason;                     // a local reason (DNS, TLS, expiry...) for the text part only; "" none
  int64_t last_attempt = 0;               // unix seconds; 0 = omit Last-Attempt-Date
  int64_t will_retry_until = 0;           // Delayed only; 0 = omit
};

struct DsnRequest {
  std::string reporting_mta;  // our hostname: "Reporting-MTA: dns; host", From: MAILER-DAEMON@host
  std::string queue_id;       // the original message's queue id (X-Volley-Queue-ID)
  std::string envid;          // DSN ENVID -> Original-Envelope-Id; "" = omit
  int64_t arrival = 0;        // Arrival-Date; 0 = omit
  std::string sender;         // original envelope sender: the To: of the DSN
  std::string ret;            // "FULL" | "HDRS" | "" ("" = whole message for failures, headers otherwise)
  std::vector<DsnRecipient> recipients;  // at least one; all in one report
  std::string_view original;  // original content, CRLF
  uint64_t max_original_bytes = limits::kMaxDsnOriginalBytes;  // larger originals are returned as headers only
  int64_t now = 0;            // Date:
  std::string message_id;     // Message-ID value without <>; "" = derived from queue id and host
};

// The whole DSN message. Parts: text/plain explanation, message/delivery-status,
// then message/rfc822 (the original, whole) or text/rfc822-headers (its header
// block). An original with 8-bit bytes returned whole is carried as is, labelled
// "Content-Transfer-Encoding: 8bit" on that part and on the multipart (RFC 2045
// 6.4: a multipart's encoding covers its parts), so the caller must queue such
// a DSN as BODY=8BITMIME; re-encoding a message/rfc822 body is not allowed
// (RFC 2046 5.2.1), and the headers-only form is always 7-bit.
std::string build_dsn(const DsnRequest& req);

// The RFC 3463 enhanced status code at the start of a reply text when present
// and of the same class as the reply code (550 + "5.1.1 No such user" ->
// "5.1.1"); otherwise "2.0.0" / "5.0.0" by class, and "4.0.0" for anything
// else (4xx and unexpected codes are both retried).
std::string enhanced_status_of(int code, std::string_view reply_text);

// True for "class.subject.detail": class 2, 4 or 5, subject and detail 1-3 digits
// (the one check is is_enhanced_status_code; this name keeps DSN code readable).
bool is_enhanced_status(std::string_view s);

}  // namespace volley::delivery
