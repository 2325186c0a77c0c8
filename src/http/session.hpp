// The HTTP/1.1 server session as a state machine with no I/O (the
// connection adapter, http_connection.cpp, feeds it bytes and carries out
// its actions; tests drive it in-process). One request at a time, answered
// strictly in order: bytes of pipelined requests stay buffered, unparsed,
// while a handler runs. Keep-alive by HTTP/1.1's default, Connection:
// close and HTTP/1.0's rules, at most kMaxRequestsPerConnection requests.
//
// Phases, each with its own deadline (timing()): Idle (between requests:
// the keep-alive timeout), Head (from a request's first byte: the whole
// head within the header timeout), Body (the gap between reads and a
// minimum rate), Handling (a handler runs; no deadline), Closing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "http/dispatcher.hpp"
#include "http/limits.hpp"
#include "http/request_parser.hpp"
#include "net/peer.hpp"
#include "net/request_deadline.hpp"
#include "util/clock.hpp"

namespace volley::http {

struct SessionSettings {
  std::string listener_name;
  uint64_t max_body = config::ApiSection{}.max_request_size;  // api.max_request_size
  RateLimiter::Rate rate;                      // api.rate_limit
  std::chrono::milliseconds header_timeout = kHeaderTimeout;
  std::chrono::milliseconds keepalive_timeout = kKeepAliveTimeout;
  std::chrono::milliseconds body_idle_timeout = kBodyIdleTimeout;
  uint64_t min_body_rate = 0;                  // bytes/s after the first body_idle_timeout; 0: none
  unsigned max_requests = kMaxRequestsPerConnection;
  std::function<bool()> draining;              // true: the server drains; answer 503 and close
};

// A handler to run off the I/O thread (Action::Handle).
struct Job {
  const Router::Route* route = nullptr;
  Request request;
  Caller caller;
  PathParams params;
};
// Runs the job's handler; an exception becomes a logged 500. Blocking.
Response run_job(const Job& job);

class Session {
 public:
  enum class Action {
    Read,    // flush output, read more input, call receive()
    Handle,  // flush output, run take_job() (run_job) off the I/O thread, call handled()
    Flush,   // write the output, then call next() again (more pipelined requests wait)
    Close,   // flush output, close
  };
  enum class Phase { Idle, Head, Body, Handling, Closing };

  Session(SessionSettings settings, std::shared_ptr<const Api> api, net::Peer peer,
          const Clock& clock = system_clock());

  void receive(std::string_view bytes);
  Action next();
  std::string take_output();

  Job take_job();
  void handled(Response response);

  // The runner's reasons to end: an idle connection just closes, a request
  // under way gets 408 (timeout) or 503 (drain, lifetime) first.
  void timed_out();
  void shutting_down();
  void lifetime_ended();
  void connection_lost();

  bool idle() const { return phase_ == Phase::Idle && in_pos_ == in_.size() && !job_; }
  uint64_t progress() const { return progress_; }
  net::RequestTiming timing() const;
  Phase phase() const { return phase_; }
  unsigned requests() const { return requests_; }

 private:
  bool step();  // parses what is buffered; true when something changed
  void request_complete();
  void request_failed();
  void respond(const Response& r, bool keep_alive);
  void close_with(int status, std::string_view code, std::string_view message);
  void enter_phase(Phase p);
  void log_request(int status);

  SessionSettings settings_;
  std::shared_ptr<const Api> api_;
  net::Peer peer_;
  const Clock& clock_;
  Phase phase_ = Phase::Idle;
  std::string in_;
  size_t in_pos_ = 0;
  std::string out_;
  std::unique_ptr<RequestParser> parser_;
  std::unique_ptr<Job> job_;
  bool head_request_ = false;     // the request being handled is HEAD: no body in the answer
  bool keep_alive_ = true;        // of the request being handled
  unsigned version_ = 11;         // of the request being handled
  std::chrono::steady_clock::time_point started_{};
  // For the request's log line.
  std::string_view outcome_;
  std::string method_, path_, caller_name_;
  uint64_t progress_ = 0;
  unsigned requests_ = 0;
};

const char* phase_name(Session::Phase p);

}  // namespace volley::http
