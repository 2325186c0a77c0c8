// When a request (a command line, a message body, an HTTP header block...)
// must have arrived by. Pure arithmetic over time points, so tests run it on
// fake time; the connection runner asks it after every read.
//
// A request may have any of three bounds (RequestTiming):
//  - whole: the whole request within this time of its start (a command line:
//    a slow-loris client dribbling one byte at a time cannot reset it);
//  - idle: no gap between reads longer than this (RFC 5321 4.5.3.2's time
//    between data blocks);
//  - min_rate: after the first `idle` period, the data must have averaged
//    this many bytes per second: every byte received buys 1/min_rate s more
//    (Postfix's smtpd_min_data_rate). A steady sender of a large message is
//    never cut; one that trickles below the rate is.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace volley::net {

struct RequestTiming {
  std::chrono::milliseconds whole{0};  // 0: no bound on the whole request
  std::chrono::milliseconds idle{0};   // 0: no bound on the gap between reads
  uint64_t min_rate = 0;               // bytes per second after the first `idle`; 0: none (needs idle)
};

class RequestDeadline {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // A new request starts now.
  void start(TimePoint now, const RequestTiming& timing) {
    timing_ = timing;
    started_ = now;
    last_read_ = now;
    bytes_ = 0;
  }
  // `n` bytes of the request arrived now.
  void received(TimePoint now, uint64_t n) {
    last_read_ = now;
    bytes_ += n;
  }
  // Whether deadline() moves on every read (the runner then reads the clock).
  bool tracks_reads() const { return timing_.idle.count() > 0; }

  TimePoint deadline() const {
    TimePoint d = TimePoint::max();
    if (timing_.whole.count() > 0) d = std::min(d, started_ + timing_.whole);
    if (timing_.idle.count() > 0) {
      d = std::min(d, last_read_ + timing_.idle);
      if (timing_.min_rate > 0) {
        // Microseconds: bytes/rate in whole seconds would round a slow
        // sender's credit up by up to a second per read.
        auto credit = std::chrono::microseconds(bytes_ * 1'000'000 / timing_.min_rate);
        d = std::min(d, started_ + timing_.idle + std::chrono::duration_cast<TimePoint::duration>(credit));
      }
    }
    return d;
  }

 private:
  RequestTiming timing_;
  TimePoint started_{};
  TimePoint last_read_{};
  uint64_t bytes_ = 0;
};

}  // namespace volley::net
