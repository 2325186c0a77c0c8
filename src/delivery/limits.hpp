// Every limit of the delivery stage in one place: its name, its default and
// why it has that value. Those an operator may want to change have a key
// under [delivery] (docs/configuration.md); the config's defaults come from
// here. Everything else is a bound on what a hostile receiver, DNS zone or
// queue can make us hold or do, or an internal pace that nobody tunes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace volley::delivery::limits {

using namespace std::chrono_literals;

// ---- memory: what the engine holds at once (config keys) ----

// delivery.max_active_bytes: bodies held by messages being delivered. The
// issue's target is under 200 MB RSS with 40 concurrent 19 MB messages; 64 MB
// still holds 16,000 active 4 KB messages (near max_active_messages), so
// small-message relay never notices. One larger message is still delivered
// when nothing else is active.
inline constexpr uint64_t kDefaultMaxActiveBytes = 64ull << 20;
// delivery.max_active_messages: messages being delivered at once; the rest
// wait on disk as an id and a due time.
inline constexpr uint32_t kDefaultMaxActiveMessages = 20'000;
// delivery.max_jobs_per_destination: jobs queued for one destination; a
// destination with a deep backlog takes no more, the rest wait in the
// scheduler without counting a deferral.
inline constexpr uint32_t kDefaultMaxJobsPerDestination = 10'000;

// ---- connections (config keys) ----

// delivery.connection_idle_timeout: how long a connection with nothing to do
// waits for the next message to its destination before QUIT: reuse without
// holding receivers' slots (Postfix's smtp_connection_cache_time_limit, 2 s).
inline constexpr std::chrono::milliseconds kDefaultConnectionIdleTimeout = 2s;

// A reused connection lost after our MAIL went out, before any reply, is not
// a delivery attempt: the job is retried unrecorded this many times at most
// (defect 1e). One was not enough when a receiver closes all its idle
// connections at once and two closes race our MAILs in a row; three bounds
// the cost of a receiver that drops every reused transaction.
inline constexpr uint32_t kMaxResendsPerJob = 3;

// ---- engine pace (internal) ----

// Scheduler ids taken per pump: keeps one pump short on the engine thread.
inline constexpr size_t kPumpBatch = 256;
// A full active set is re-checked at least this often even without a
// completion.
inline constexpr std::chrono::milliseconds kPumpRecheck = 1s;
// Recipients left untried in a round (their destination was full) are tried
// again this soon, without counting a deferral.
inline constexpr std::chrono::milliseconds kUntriedRetry = 1s;
// A message parked on a full destination (WaitingRoom) is released when the
// destination takes a job; its scheduler entry falls due this often as a
// backstop, and is only moved on (not loaded) while the destination is full.
inline constexpr std::chrono::milliseconds kParkedRecheck = 30s;
// Parked ids found still waiting, per pump, before the pump yields.
inline constexpr size_t kPumpParkedChecks = 4096;
// Retry delay when queue.retry_schedule is empty (config forbids it; defence).
inline constexpr std::chrono::milliseconds kFallbackRetryDelay = 5min;
// Idle destinations (DNS answers, back-off state) are forgotten after this,
// checked every kHousekeepingInterval: a campaign to many domains does not
// keep them all in memory.
inline constexpr std::chrono::milliseconds kForgetIdleDestination = 5min;
inline constexpr std::chrono::milliseconds kHousekeepingInterval = 30s;
// Threads for blocking work (Maildir writes with fsync, spool reads): two
// keep one slow fsync from holding up everything else.
inline constexpr size_t kBlockingThreads = 2;
// stop() polls the transactions in flight this often while it waits.
inline constexpr std::chrono::milliseconds kStopPoll = 20ms;

// ---- routing ----

// DNS answers are reused this long (c-ares gives no MX TTL; a minute keeps
// lookups off the hot path and changes visible soon).
inline constexpr std::chrono::milliseconds kRouteCacheTime = 60s;
// MX hosts, addresses per host and addresses in all tried for one
// destination: a hostile zone cannot make one delivery try hundreds.
inline constexpr size_t kMaxMxHosts = 10;
inline constexpr size_t kMaxAddressesPerHost = 4;
inline constexpr size_t kMaxEndpoints = 20;
// A destination none of whose hosts answers is suspended (new mail deferred
// without trying) for half the first retry interval, at most this long.
inline constexpr std::chrono::milliseconds kMaxSuspension = 30s;
// Back-off after 421/4.7.x: pause 2 s, 4 s, ... (base << level), at most
// kMaxBackoffPause, at most kMaxBackoffLevel halvings of the connections:
// long enough for a receiver's rate window to pass, short enough not to hold
// retries up.
inline constexpr std::chrono::milliseconds kBackoffBase = 1s;
inline constexpr std::chrono::milliseconds kMaxBackoffPause = 2min;
inline constexpr unsigned kMaxBackoffLevel = 6;

// ---- DNS resolver ----

// Lookups in flight at once; beyond it a lookup fails at once with TempFail
// "resolver busy": a burst of new domains cannot grow memory without bound.
inline constexpr size_t kMaxDnsLookupsInFlight = 1024;
// Addresses kept from one A or AAAA answer: more say nothing to a sender
// that tries kMaxAddressesPerHost at most.
inline constexpr int kMaxAddressesPerFamily = 32;
// TXT records kept from one answer, and their bytes in all. A name's TXT set
// is its SPF record plus a few verification tokens (a large provider has
// ~15); beyond these the answer is TempFail, not truncated: a partial set
// could hide a second SPF record and turn a permerror into a pass.
inline constexpr size_t kMaxTxtRecords = 64;
inline constexpr size_t kMaxTxtBytes = 32 * 1024;
// PTR names kept from one answer: SPF looks at the first 10, FCrDNS at one.
inline constexpr size_t kMaxPtrNames = 32;
// Receive buffer asked for c-ares's sockets: a burst of answers is not
// dropped by the kernel while the engine thread is busy.
inline constexpr int kDnsSocketReceiveBuffer = 1 << 20;
// The shortest per-try DNS timeout worth retrying with.
inline constexpr std::chrono::milliseconds kMinDnsTryTimeout = 100ms;

// ---- outbound SMTP client ----

// RFC 5321 4.5.3.1.5 allows 512 octets per reply line; real servers send
// longer ones, so generous, but a hostile receiver cannot grow our buffers
// beyond 4 KiB x 200 lines per reply.
inline constexpr size_t kMaxReplyLine = 4096;
inline constexpr size_t kMaxReplyLines = 200;
// A reply's text as logged and put into DSNs.
inline constexpr size_t kMaxReplyText = 1000;
// AUTH mechanisms kept from EHLO (RFC 4422 3.1 names are at most 20 chars).
inline constexpr size_t kMaxAuthMechanisms = 32;
inline constexpr size_t kMaxMechanismLength = 20;
// Bytes read from the socket at once.
inline constexpr size_t kReadChunk = 16 * 1024;
// QUIT gets this long: the message is already delivered, we only say goodbye.
inline constexpr std::chrono::milliseconds kQuitTimeout = 5s;

// ---- queue records and DSNs ----

// Attempt history kept per message: the envelope, rewritten each round,
// stays small; the oldest entries go first.
inline constexpr size_t kMaxAttemptsKept = 100;
// Originals larger than this are returned in a DSN as headers only.
inline constexpr uint64_t kMaxDsnOriginalBytes = 10ull << 20;

// ---- Maildir ----

// Unique-name collisions retried before a delivery fails (temporarily).
inline constexpr int kMaxMaildirNameAttempts = 16;

// ---- transport security (MTA-STS, DANE) ----

// TLSA records kept per MX host: real hosts publish one to four (current and
// next key); a zone with hundreds must not cost a handshake that many
// digests. An answer with more is a temporary failure (never act on part of
// a record set).
inline constexpr size_t kMaxTlsaRecords = 32;
// Bytes of one TLSA record's data: a full certificate (matching type 0) is
// a few KB; SHA-256/512 are 32/64 bytes.
inline constexpr size_t kMaxTlsaDataBytes = 8 * 1024;
// One MTA-STS policy fetch, all of it (RFC 8461 3.3 suggests about a
// minute; a delivery waits for it, so shorter, then the cached policy or
// none applies).
inline constexpr std::chrono::milliseconds kMtaStsFetchTimeout = 20s;
// Policy fetches under way at once (each blocks a thread of its own pool for
// up to kMtaStsFetchTimeout; more wait their turn).
inline constexpr size_t kMtaStsFetchThreads = 2;
// Addresses of mta-sts.DOMAIN tried for a fetch.
inline constexpr size_t kMaxMtaStsAddresses = 4;

}  // namespace volley::delivery::limits
