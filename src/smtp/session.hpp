// The SMTP server session (RFC 5321 and extensions) as a state machine with
// no I/O. The connection loop feeds it bytes and carries out the Actions it
// asks for (read more, start TLS, check a password, commit a message, close);
// tests drive it the same way over an in-memory dialogue.
//
// Shape (OpenSMTPD's smtp_session.c): the state changes only through
// enter_state(); each command first checks (answering the error and stopping)
// then proceeds. Replies for pipelined commands accumulate in the output and
// are flushed by the loop before it blocks on a read (RFC 2920).
#pragma once

#include <chrono>
#include <utility>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/sasl.hpp"
#include "config/config.hpp"
#include "net/cidr.hpp"
#include "queue/spool.hpp"
#include "smtp/address.hpp"
#include "smtp/command.hpp"
#include "smtp/data_reader.hpp"
#include "smtp/reply.hpp"
#include "util/result.hpp"

namespace volley::smtp {

// Recipient and relay policy, backed by the configuration snapshot and the
// in-memory user snapshot. Implementations must be cheap and never block:
// they run on an I/O thread.
class Directory {
 public:
  virtual ~Directory() = default;
  virtual bool is_local_domain(const std::string& domain_lower) const = 0;
  // For an address in a local domain (Mailbox::lookup_key()): where mail for
  // it goes (alias targets, or the address itself when it is a user or a
  // domain's postmaster). Error NotFound: no such user (550 5.1.1); any
  // other error: the users cannot be read now (451 4.3.0).
  virtual Result<std::vector<std::string>> local_targets(const std::string& address_lower) const = 0;
  // Whether `auth_user` (an authenticated user's canonical address) may use
  // `sender` as its MAIL FROM (relay.sender_login_match). Error Permanent:
  // not its address (553 5.7.1); other errors: temporary (451 4.3.0).
  virtual Result<void> check_sender(const std::string& auth_user, const Mailbox& sender) const = 0;
  // "postmaster@<first local domain>": where RCPT TO:<Postmaster> goes.
  virtual std::string postmaster() const = 0;
  virtual bool relay_allowed(const net::IpAddress& client) const = 0;
  // Whether the server consumes mail to `mb` itself instead of storing or
  // relaying it (the sending platform's bounce, complaint and unsubscribe
  // addresses): accepted from any client, for any domain the directory
  // says, because such mail is never passed on. Must not block.
  virtual bool consumes(const Mailbox& mb) const {
    (void)mb;
    return false;
  }
  // Whether a local mailbox (a target from local_targets) has room for a
  // message of `declared_size` bytes (MAIL FROM SIZE=, 0 when not given).
  // Must not block (an I/O thread asks): a cached or cheaply read answer.
  enum class Room { Ok, Full, TooBig };
  virtual Room mailbox_room(const std::string& target, uint64_t declared_size) const {
    (void)target;
    (void)declared_size;
    return Room::Ok;
  }
};

// DKIM signing of mail this server originates (issue 10): the session asks
// once it knows a message's header block, feeds the body as it arrives, and
// puts the signature fields in front of the queued bytes. Implementations
// must not block: they run on an I/O thread.
class ContentSigner {
 public:
  class Job {
   public:
    virtual ~Job() = default;
    virtual void body(std::string_view bytes) = 0;  // the body's next bytes (no header block)
    // The complete signature field(s), "DKIM-Signature: ...\r\n" each.
    virtual Result<std::string> finish() = 0;
  };
  virtual ~ContentSigner() = default;
  // `header_block`: every field the message is queued with except our trace
  // header. Null when nothing is configured for its From domain.
  virtual std::unique_ptr<Job> begin(std::string_view header_block) const = 0;
};

// Sender authentication of mail from the internet (issue 10: SPF, DKIM,
// DMARC) on mx listeners. The session starts a job once it has the header
// block, feeds it the body as it arrives, and before committing hands it to
// its I/O loop (Action::Check), which runs the lookups and answers with a
// SenderVerdict.
class SenderChecks {
 public:
  struct Context {
    std::string client_ip;
    std::string helo;
    std::string mail_from;  // "" for the null sender
  };
  class Job {
   public:
    virtual ~Job() = default;
    virtual void body(std::string_view bytes) = 0;  // the body's next bytes (no header block)
  };
  virtual ~SenderChecks() = default;
  // Removes from `header_block` what must not be queued (Authentication-
  // Results fields claiming to be ours) and starts the checks.
  virtual std::unique_ptr<Job> begin(std::string& header_block, Context context) const = 0;
};

struct SenderVerdict {
  enum class Kind { Accept, Quarantine, Refuse };
  Kind kind = Kind::Accept;
  std::string header;  // the Authentication-Results field to queue with the message (Accept, Quarantine)
  Reply refusal{451, "4.7.0", "Temporary authentication failure, try again later"};  // Refuse
};

struct SessionSettings {
  std::string hostname;
  std::string listener_name;
  config::SmtpRole role = config::SmtpRole::Mx;
  config::TlsMode tls_mode = config::TlsMode::None;
  bool require_tls_for_auth = true;
  config::Limits limits;
  // Signs what authenticated clients and relay.allow_networks send; null: no signing.
  const ContentSigner* signer = nullptr;
  // Checks what other clients send on mx listeners; null: no checks.
  const SenderChecks* checks = nullptr;
};

struct ClientInfo {
  std::string ip;  // text form, for logs and headers
  net::IpAddress address;
  uint16_t port = 0;
};

struct TlsInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;
};

// Longest command line we buffer at all (RFC 4954 4: an AUTH line may be 12288
// octets). Anything longer is answered 500 5.5.2 and skipped to its end.
inline constexpr size_t kMaxAuthLine = 12288;
// RFC 5321 4.5.3.1.4: 512 octets including CRLF for ordinary commands.
inline constexpr size_t kMaxCommandLine = 512;
// MAIL/RCPT lines grow with ESMTP parameters (SIZE, BODY, SMTPUTF8, RET,
// ENVID<=100, NOTIFY, ORCPT<=500, AUTH): allow them room.
inline constexpr size_t kMaxEnvelopeLine = 2048;
// Hops allowed before a message is treated as looping (Postfix hopcount_limit).
inline constexpr size_t kMaxReceivedHeaders = 50;

// A large message's content on its way to the spool (Action::Spill): any
// message whose body grows past limits.message_memory_threshold is handed
// over in pieces of about that size as it arrives, instead of being held.
struct SpillRequest {
  enum class Kind {
    Append,   // add `bytes` to the body file of message `id` (created at the first Append); then spill_result()
    Commit,   // add `bytes`, sync, commit `head` with the body; then commit_result()
    Discard,  // the transaction ended without a commit: remove the body file now; no answer
  };
  Kind kind = Kind::Append;
  std::string id;     // queue id: names the body file
  std::string bytes;  // Append, Commit: the next part of the body
  std::shared_ptr<queue::Message> head;  // Commit: the envelope; content = the trace headers that precede the body
};

class Session {
 public:
  enum class Action {
    Read,          // flush output, then read more input and call receive()
    StartTls,      // flush output, do the TLS handshake, call tls_started() (or close on failure)
    Authenticate,  // check auth_request(), wait the throttle delay on failure, call auth_result()
    Check,         // run the sender checks of take_check(), call check_result()
    Commit,        // hand take_commit() to the spool, call commit_result()
    Spill,         // flush output, carry out take_spill() (see SpillRequest)
    Close,         // flush output, close the connection
  };

  enum class State {
    Fresh,       // greeted, no HELO/EHLO yet
    Ready,       // HELO/EHLO done, no transaction
    Mail,        // MAIL accepted, no recipient yet
    Rcpt,        // at least one recipient accepted
    Data,        // reading DATA content
    Bdat,        // reading a BDAT chunk
    BdatSkip,    // consuming a refused BDAT chunk
    SaslPlain,   // waiting for the PLAIN response line
    SaslUser,    // waiting for the LOGIN user name line
    SaslPass,    // waiting for the LOGIN password line
    WaitTls,
    WaitAuth,
    WaitCheck,
    WaitCommit,
    Closed,
  };

  Session(SessionSettings settings, ClientInfo client, const Directory& directory);
  ~Session();

  // Emits the 220 greeting. For implicit TLS call tls_started() first.
  void start();
  void receive(std::string_view bytes);
  Action next();

  bool has_output() const { return !out_.empty(); }
  std::string take_output();
  // How long to hold back the output before writing it (zero almost always):
  // error replies past limits.errors_before_delay, and the 421 for too many
  // junk commands, wait limits.error_delay each (Postfix's
  // smtpd_error_sleep_time). Taking it resets it.
  std::chrono::milliseconds take_reply_delay() { return std::exchange(reply_delay_, std::chrono::milliseconds(0)); }

  // Results of actions.
  void tls_started(const TlsInfo& info);
  const auth::Credentials& auth_request() const { return pending_auth_; }
  // Ok: the user's canonical address. Error Permanent: bad credentials (535);
  // RateLimited: the address spent its failure budget; other: temporary (454).
  void auth_result(const Result<std::string>& verdict);
  unsigned auth_failures() const { return auth_failures_; }
  // The sender checks of the message waiting in WaitCheck.
  std::unique_ptr<SenderChecks::Job> take_check();
  // Accept / Quarantine: queue the message with verdict.header; Refuse: answer verdict.refusal, keep nothing.
  void check_result(const SenderVerdict& verdict);
  std::shared_ptr<queue::Message> take_commit();
  // Success: 250; ErrorCode::NoSpace: 452 4.3.1; anything else: 451 4.3.0.
  void commit_result(const Result<void>& result);
  SpillRequest take_spill();
  void spill_result(const Result<void>& result);

  // Memory the session holds for message content (the reader's buffer and a
  // spill handed out but not yet answered), and for raw input.
  size_t message_memory() const;
  size_t input_memory() const { return in_.capacity(); }

  // Events from the loop.
  void timed_out();       // 421 4.4.2 and close
  void shutting_down();   // 421 4.3.2 and close
  void lifetime_ended();  // limits.max_connection_lifetime: 421 4.4.2 and close
  void connection_lost(); // the peer went away: abandon any transaction (nothing is kept)

  // No transaction under way and nothing buffered: safe to close for a drain.
  bool idle() const;
  State state() const { return state_; }
  // Reading message content (DATA, BDAT): the loop applies data_timeout and
  // min_data_rate instead of the per-command deadline.
  bool reading_content() const;
  // Counts completed requests (command lines, message bodies); the loop
  // restarts its per-request deadline when this changes.
  uint64_t progress() const { return progress_; }
  bool tls_active() const { return tls_active_; }
  const std::string& auth_user() const { return auth_user_; }
  const ClientInfo& client() const { return client_; }

 private:
  struct Transaction;
  using Handler = void (Session::*)(std::string_view argument);
  struct VerbPolicy {
    Verb verb;
    Handler handler;
    size_t max_line;  // including CRLF
    bool junk;        // counts against limits.max_junk_commands (Postfix's SMTPD_CMD_FLAG_LIMIT)
  };
  static const VerbPolicy kVerbs[];

  void enter_state(State s);
  void reply(const Reply& r);
  void reply(int code, std::string enhanced, std::string text) { reply(Reply(code, std::move(enhanced), std::move(text))); }
  void error(int code, std::string enhanced, std::string text);  // a client error: counted
  void count_error();  // one more error; past limits.errors_before_delay its reply waits error_delay
  void close_with(int code, std::string enhanced, std::string text);
  void reset_transaction();

  bool process_line();  // false: need more input
  void dispatch(std::string_view line);
  void sasl_line(std::string_view line);

  void do_helo(std::string_view arg);
  void do_ehlo(std::string_view arg);
  void do_mail(std::string_view arg);
  void do_rcpt(std::string_view arg);
  void do_data(std::string_view arg);
  void do_bdat(std::string_view arg);
  void do_rset(std::string_view arg);
  void do_noop(std::string_view arg);
  void do_vrfy(std::string_view arg);
  void do_expn(std::string_view arg);
  void do_help(std::string_view arg);
  void do_quit(std::string_view arg);
  void do_starttls(std::string_view arg);
  void do_auth(std::string_view arg);

  bool helo_common(std::string_view arg, bool esmtp);
  bool auth_offered() const;
  void request_auth(auth::Credentials creds);
  void sasl_failure(auth::SaslError e);

  bool feed_data();         // Data state
  bool feed_bdat();         // Bdat / BdatSkip state
  void finish_message(Verdict verdict, uint64_t size);
  bool hold_limit_reached(uint64_t held) const;
  bool spill(std::string bytes);  // true: an Append was queued
  bool orphaned_spill();          // a body file is open for no transaction: queue its Discard
  void cancel_spill();            // closing: no Append or Commit may still go out
  void refuse_message(const Reply& r, uint64_t size);
  // Message-ID and Date for submitted mail whose author's software left them out.
  std::string fields_to_add(const std::string& id, std::time_t when, bool has_message_id, bool has_date) const;
  // A signing job when this client's mail is signed and the signer has a key for it.
  std::unique_ptr<ContentSigner::Job> begin_signing(std::string_view added_fields, std::string_view header_block) const;
  bool sender_checks_apply() const;
  // Starts the sender checks over `message` (the whole content, or the first
  // piece of one streamed to disk); edits its header block; false if none.
  bool begin_checks(std::string& message);
  void drop_held_message();
  void log_transaction(const Reply& r, uint64_t size);

  SessionSettings settings_;
  ClientInfo client_;
  const Directory& directory_;

  State state_ = State::Fresh;
  std::string in_;
  size_t in_pos_ = 0;        // consumed prefix of in_
  std::string out_;
  bool discarding_line_ = false;
  bool close_after_flush_ = false;
  uint64_t progress_ = 0;
  unsigned errors_ = 0;
  unsigned junk_commands_ = 0;
  std::chrono::milliseconds reply_delay_{0};  // hold the pending output this long (error tarpit)  // NOOP/RSET/VRFY/HELP since the last accepted message
  // The verb being handled, for refusal log lines: a view into in_, valid
  // only while process_line() dispatches (reset to "-" at each call), so the
  // escaping work is done only when something is refused.
  std::string_view current_verb_ = "-";

  std::string helo_;
  bool esmtp_ = false;
  bool tls_active_ = false;
  TlsInfo tls_;
  bool authenticated_ = false;
  std::string auth_user_;
  unsigned auth_failures_ = 0;
  auth::Credentials pending_auth_;
  std::string sasl_user_;  // LOGIN: user name between the two steps

  std::unique_ptr<Transaction> tx_;
  uint64_t skip_remaining_ = 0;
  std::optional<Reply> skip_reply_;
  State skip_return_state_ = State::Ready;
  bool last_chunk_ = false;
  std::shared_ptr<queue::Message> pending_commit_;
  // A message waiting for its sender checks (WaitCheck): the commit, and
  // where the Authentication-Results field goes in its content.
  std::unique_ptr<SenderChecks::Job> pending_check_;
  std::shared_ptr<queue::Message> held_commit_;
  std::optional<SpillRequest> held_spill_;
  size_t held_header_at_ = 0;
  std::optional<SpillRequest> spill_request_;
  std::string open_spill_;  // id of the body file the loop holds open for this session
  std::string committed_id_;
  uint64_t commit_size_ = 0;
};

const char* state_name(Session::State s);

}  // namespace volley::smtp
