// The POP3 server session (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH
// RFC 5034) as a state machine with no I/O, written against the Maildrop
// interface. The connection adapter (pop3_connection) feeds it bytes and
// carries out the Actions it asks for; every blocking call (password check,
// maildrop open, message reads, commit) is such an action, run off the I/O
// thread. Tests drive it the same way in-process.
//
// States (RFC 1939 3): AUTHORIZATION until a login opened the maildrop,
// TRANSACTION, then UPDATE at QUIT (the commit). A connection that ends any
// other way commits nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/sasl.hpp"
#include "config/config.hpp"
#include "pop3/command.hpp"
#include "pop3/maildrop.hpp"
#include "pop3/multiline.hpp"
#include "util/result.hpp"

namespace volley::pop3 {

// Bad commands (unknown, malformed, overlong, binary, in the wrong state) a
// connection may send before it is closed with "-ERR Too many bad commands."
// (Dovecot's pop3 process allows 20, its login process 3; a real client
// sends none, so a handful is plenty.)
inline constexpr unsigned kMaxBadCommands = 10;
// Bytes of a message read per step while sending RETR/TOP: the output for
// one step stays about this size (dot-stuffing adds little).
inline constexpr size_t kMessageChunk = 64 * 1024;
// Replies waiting to be written before the session answers more pipelined
// commands: a client that pipelines thousands of LISTs in one read cannot
// make the session build megabytes of output.
inline constexpr size_t kOutputHighWater = 64 * 1024;

struct SessionSettings {
  std::string hostname;
  std::string listener_name;
  config::TlsMode tls_mode = config::TlsMode::None;
  bool require_tls_for_auth = true;
  unsigned max_auth_failures = 5;  // wrong passwords per connection, then closed
};

// A piece of RETR/TOP output to read off the I/O thread (Action::Fetch):
// run_fetch() opens the message if `reader` is null, then reads until
// `chunk` holds `max` bytes or the message ends (`end`): a small message
// costs one trip to the disk-work pool.
struct FetchJob {
  Maildrop* maildrop = nullptr;
  size_t index = 0;
  std::unique_ptr<MessageReader> reader;
  size_t max = kMessageChunk;
  Result<void> status;
  std::string chunk;
  bool end = false;
};
void run_fetch(FetchJob& job);  // blocking

class Session {
 public:
  enum class Action {
    Read,          // flush output, read more input, call receive()
    StartTls,      // flush output, TLS handshake, call tls_started() (close on failure)
    Authenticate,  // check auth_request() (with the failure delay), call auth_result()
    Open,          // open the maildrop of login_user(), call open_result()
    Fetch,         // flush output, run_fetch(take_fetch()), call fetch_result()
    Commit,        // commit take_commit() (see CommitJob), call commit_result()
    Flush,         // write the output, then call next() again (more pipelined commands are waiting)
    Close,         // flush output, close
  };
  enum class State {
    Authorization,
    SaslPlain,     // waiting for AUTH PLAIN's continuation line
    WaitTls,
    WaitAuth,
    WaitOpen,
    Transaction,
    Sending,       // streaming a RETR/TOP body
    Listing,       // writing a LIST/UIDL of every message, a part per step
    WaitCommit,    // UPDATE
    Closed,
  };

  // The UPDATE state's work: the maildrop (the adapter commits, then
  // destroys it off the I/O thread, which releases the lock).
  struct CommitJob {
    std::unique_ptr<Maildrop> maildrop;
    std::vector<size_t> deleted;    // 0-based
    std::vector<size_t> retrieved;  // 0-based
  };

  Session(SessionSettings settings, std::string client_ip);
  ~Session();

  void start();  // the greeting (after an implicit-TLS handshake)
  void receive(std::string_view bytes);
  Action next();
  std::string take_output();

  void tls_started();
  const auth::Credentials& auth_request() const { return pending_auth_; }
  // Ok: the user's canonical address. Permanent: wrong credentials;
  // RateLimited: the address spent its failure budget (nothing was checked);
  // other: temporary.
  void auth_result(const Result<std::string>& verdict);
  const std::string& login_user() const { return user_; }
  // Busy: -ERR [IN-USE]; other errors: -ERR [SYS/TEMP].
  void open_result(Result<std::unique_ptr<Maildrop>> maildrop);
  FetchJob take_fetch();
  void fetch_result(FetchJob job);
  CommitJob take_commit();
  void commit_result(const Result<void>& result);

  // The runner's reasons to end the session: "-ERR ..." and close.
  void timed_out();
  void shutting_down();
  void lifetime_ended();
  // The peer went away: nothing is committed; the maildrop is released.
  void connection_lost();
  // The maildrop, if the session still holds one (the adapter releases it
  // off the I/O thread when the connection ends).
  std::unique_ptr<Maildrop> release_maildrop();

  bool idle() const;
  uint64_t progress() const { return progress_; }
  State state() const { return state_; }
  bool tls_active() const { return tls_active_; }
  const std::string& client_ip() const { return client_ip_; }
  unsigned bad_commands() const { return bad_commands_; }

 private:
  using Handler = void (Session::*)(const CommandLine& cmd);
  struct VerbPolicy {
    Verb verb;
    Handler handler;
    bool authorization;  // allowed in AUTHORIZATION
    bool transaction;    // allowed in TRANSACTION
  };
  static const VerbPolicy kVerbs[];

  void enter_state(State s);
  void ok(std::string_view text);
  void err(std::string_view text);       // a refusal that is not the client's fault
  void bad(std::string_view text);       // a bad command: counted, closes at kMaxBadCommands
  void close_with(std::string_view line);
  bool process_line();
  void dispatch(std::string_view line);
  void sasl_line(std::string_view line);

  void do_capa(const CommandLine& c);
  void do_stls(const CommandLine& c);
  void do_user(const CommandLine& c);
  void do_pass(const CommandLine& c);
  void do_auth(const CommandLine& c);
  void do_apop(const CommandLine& c);
  void do_stat(const CommandLine& c);
  void do_list(const CommandLine& c);
  void do_uidl(const CommandLine& c);
  void do_top(const CommandLine& c);
  void do_retr(const CommandLine& c);
  void do_dele(const CommandLine& c);
  void do_rset(const CommandLine& c);
  void do_noop(const CommandLine& c);
  void do_quit(const CommandLine& c);

  bool auth_allowed() const;  // false: plaintext login refused on this channel
  bool refuse_cleartext_auth();
  void request_auth(auth::Credentials creds);
  // The message a "msg" argument names, if it exists and is not deleted.
  std::optional<size_t> message(const CommandLine& c, size_t arg = 0);
  void begin_sending(size_t index, uint64_t body_lines);
  void scan_listing(bool uidl, const CommandLine& c);
  void log_logout(const char* result);
  void continue_listing();  // appends the next part of a LIST/UIDL

  SessionSettings settings_;
  std::string client_ip_;
  State state_ = State::Authorization;
  std::string in_;
  size_t in_pos_ = 0;
  std::string out_;
  bool discarding_line_ = false;
  uint64_t progress_ = 0;
  unsigned bad_commands_ = 0;
  unsigned auth_failures_ = 0;
  bool tls_active_ = false;

  std::string user_;  // USER's argument, then the logged-in user
  auth::Credentials pending_auth_;

  std::unique_ptr<Maildrop> maildrop_;
  std::vector<bool> deleted_;
  std::vector<bool> retrieved_;
  uint64_t deleted_count_ = 0;
  uint64_t deleted_bytes_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t retrieved_bytes_ = 0;

  // LIST/UIDL of every message under way.
  bool listing_uidl_ = false;
  size_t listing_next_ = 0;

  // RETR/TOP under way.
  size_t sending_index_ = 0;
  std::unique_ptr<MessageReader> reader_;
  std::optional<MultilineEncoder> encoder_;
  uint64_t sending_expected_ = 0;  // entry.size, checked against what the reader yields
  uint64_t sending_read_ = 0;
  bool sending_whole_ = false;     // RETR (not TOP): the size must match
  bool header_sent_ = false;       // the +OK of the RETR/TOP under way is out
};

const char* state_name(Session::State s);

// The blocking part of Action::Commit: applies the job's marks (nothing to
// do when there are none), then destroys the maildrop, which releases its
// lock; the session then answers QUIT.
Result<void> run_commit(Session::CommitJob& job);

}  // namespace volley::pop3
