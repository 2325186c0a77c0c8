// What the SMTP intake hands to the queue: the envelope (sender, recipients
// with their DSN parameters), receive metadata, and the message content
// exactly as it will be delivered (trace headers already prepended).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace volley::queue {

enum class RecipientState { Pending, Delivered, Deferred, Bounced };

struct Recipient {
  std::string address;        // where the message goes (after alias expansion)
  std::string original;       // the RCPT TO address as the client gave it
  unsigned notify = 0;        // smtp::DsnNotify bits
  std::string orcpt_type;     // DSN ORCPT addr-type ("rfc822"), "" if none
  std::string orcpt_address;  // DSN ORCPT value, decoded
  RecipientState state = RecipientState::Pending;
};

// One delivery attempt for one recipient (appended by delivery).
struct Attempt {
  int64_t at = 0;          // unix seconds
  std::string recipient;   // address the attempt was for
  std::string status;      // delivered | deferred | bounced
  std::string relay;       // host [ip] or "local"
  std::string reply;       // the remote reply or local error
};

struct Envelope {
  std::string id;             // queue id
  std::string sender;         // "" for the null sender <>
  std::vector<Recipient> recipients;
  std::string dsn_ret;        // "", "FULL", "HDRS"
  std::string dsn_envid;
  bool smtputf8 = false;
  bool eight_bit = false;     // BODY=8BITMIME
  // Receive metadata.
  std::string client_ip;
  std::string helo;
  std::string tls;            // "" or "TLSv1.3 TLS_AES_256_GCM_SHA384"
  std::string auth_user;
  std::string listener;
  int64_t received_at = 0;    // unix seconds
  std::vector<Attempt> attempts;  // history, oldest first; empty until delivery tries
  // Scheduling, kept durable so a restart resumes the retry schedule.
  uint32_t deferrals = 0;     // delivery rounds that ended with a recipient deferred
  int64_t next_attempt = 0;   // unix seconds; 0 = as soon as possible
  // The Maildir++ folder local recipients get the message in: "" = INBOX;
  // kJunkFolder when inbound DMARC says quarantine. Written only when set,
  // so records without it (older versions) load as INBOX.
  std::string folder;
  // The sending platform (src/platform): a tracked message has its
  // recipients' results recorded for GET /v1/messages/{id} and emitted as
  // events (messages sent through the HTTP API, or by a campaign);
  // `campaign` names the campaign that sent it. Written only when set.
  bool tracked = false;
  std::string campaign;
};

inline constexpr const char* kJunkFolder = "Junk";

// True when every recipient is delivered or bounced.
bool all_final(const Envelope& env);
// True when some recipient is waiting for a retry.
bool any_deferred(const Envelope& env);

struct Message {
  Envelope envelope;
  std::string content;        // CRLF line endings, no dot-stuffing
};

// A compact, line-oriented text form of the envelope ("key value" lines,
// values percent-escaped), used by the spool file header. Round-trips.
std::string serialize_envelope(const Envelope& env);
bool parse_envelope(std::string_view text, Envelope& out);

}  // namespace volley::queue
