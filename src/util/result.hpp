// Result<T>: a checked value-or-error returned across module boundaries
// (LevelDB's Status / C++23 std::expected in spirit). Exceptions are kept for
// bugs; expected failures travel as values and cannot be silently dropped.
//
// This is the one error type between modules: an ErrorCode a caller can act
// on (a storage failure is temporary, never "no such user"), plus a message
// for the log. Module-private status enums (parser outcomes, per-recipient
// delivery outcomes) stay where they are; anything crossing a module
// boundary as a failure uses Error.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace volley {

// What kind of failure, so the caller can choose its answer (e.g. 451 vs 550,
// retry vs bounce) without parsing messages.
enum class ErrorCode {
  Failed,         // unspecified; treat as temporary
  Temporary,      // try again later (DNS SERVFAIL, lock busy, peer unavailable)
  NoSpace,        // ENOSPC / EDQUOT: 452 4.3.1
  Io,             // a read, write or sync failed: 451 4.3.0
  NotFound,       // the thing asked for does not exist (a definite answer)
  AlreadyExists,
  Invalid,        // bad input or configuration (a permanent refusal)
  Permanent,      // a definite permanent failure from elsewhere
  Timeout,
  RateLimited,    // a budget is spent (e.g. AUTH failures per client address): try later
  Busy,           // held by someone else (a mailbox another POP3 session has open): -ERR [IN-USE]
  MailboxFull,    // the mailbox is over its quota for now: 4.2.2, deferred, 5.2.2 once it expires
  TooBigForMailbox,  // the message alone exceeds the mailbox's quota: 5.2.2 (permanent)
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::Failed;
  std::string message;

  Error() = default;
  Error(std::string msg) : message(std::move(msg)) {}  // NOLINT: implicit, keeps old call sites
  Error(ErrorCode c, std::string msg) : code(c), message(std::move(msg)) {}
  // Temporary unless proven permanent (maddy's rule): callers deciding
  // between a 4xx and a 5xx ask this.
  bool temporary() const {
    return code != ErrorCode::NotFound && code != ErrorCode::AlreadyExists && code != ErrorCode::Invalid &&
           code != ErrorCode::Permanent && code != ErrorCode::TooBigForMailbox;
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }
inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

inline const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Failed: return "failed";
    case ErrorCode::Temporary: return "temporary";
    case ErrorCode::NoSpace: return "no_space";
    case ErrorCode::Io: return "io";
    case ErrorCode::NotFound: return "not_found";
    case ErrorCode::AlreadyExists: return "already_exists";
    case ErrorCode::Invalid: return "invalid";
    case ErrorCode::Permanent: return "permanent";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::RateLimited: return "rate_limited";
    case ErrorCode::Busy: return "busy";
    case ErrorCode::MailboxFull: return "mailbox_full";
    case ErrorCode::TooBigForMailbox: return "too_big_for_mailbox";
  }
  return "failed";
}

}  // namespace volley
