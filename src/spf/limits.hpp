// Every limit of the SPF evaluator in one place: its name, its value and why.
// The first group is RFC 7208 section 4.6.4 (exceeding them is a permerror,
// as the RFC says); the rest are our own bounds on what a hostile zone can
// make one check hold or do. None is an operator knob: the RFC's are fixed
// by the protocol, and ours only cut off records that no sane domain needs.
#pragma once

#include <chrono>
#include <cstddef>

namespace volley::spf::limits {

using namespace std::chrono_literals;

// ---- RFC 7208 4.6.4 ----

// Terms that cause DNS queries (include, a, mx, ptr, exists, redirect),
// counted over the whole evaluation, includes and redirects included.
inline constexpr size_t kMaxDnsMechanisms = 10;
// Lookups that return NXDOMAIN or no records ("void"); the third is a permerror.
inline constexpr size_t kMaxVoidLookups = 2;
// MX names one mx mechanism may have: more is a permerror.
inline constexpr size_t kMaxMxNames = 10;
// PTR names looked at for ptr and %{p}: the rest are ignored.
inline constexpr size_t kMaxPtrNames = 10;

// ---- our own bounds ----

// One record after its TXT strings are joined. A TXT answer fits a UDP/TCP
// message (64 KB), but real SPF records stay under 512 bytes so that they
// fit a UDP answer; 4 KB leaves room for long but legitimate ip4/ip6 lists.
inline constexpr size_t kMaxRecordBytes = 4096;
// Terms in one record: a 4 KB record of the shortest terms ("a ") would be
// 2,000; no real record has more than a few dozen, and each term costs a
// little work on every replay of the evaluation.
inline constexpr size_t kMaxTerms = 256;
// include/redirect nesting. The 10-mechanism limit already bounds it; this
// is a second, structural guard against loops (a includes a).
inline constexpr size_t kMaxDepth = 12;
// DNS questions one evaluation may ask in all. 10 DNS mechanisms, each mx up
// to 1 + 10 address lookups, plus the records themselves and %{p}: about 130
// at worst within the RFC's limits; past this it is a permerror.
inline constexpr size_t kMaxDnsQueries = 160;
// An expanded domain name is cut to 253 bytes by dropping labels from the
// left (RFC 7208 7.3); a macro-expanded string before that is bounded too,
// so a record like "%{s}%{s}%{s}..." cannot make a huge string.
inline constexpr size_t kMaxDomainName = 253;
inline constexpr size_t kMaxExpansionBytes = 8192;
// The whole check, all lookups included (RFC 7208 4.6.4 asks for at least
// 20 s per query; the SMTP client waits for our reply to MAIL FROM, and an
// RFC 5321 client waits 5 minutes, so 20 s overall is safe and bounded).
inline constexpr std::chrono::milliseconds kDefaultCheckTimeout = 20s;

}  // namespace volley::spf::limits
