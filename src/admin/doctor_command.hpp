// `volley doctor DOMAIN [--json] [--address IP]... [--mta-sts-port N]`:
// checks, against delivery.resolver (or the system's resolvers), what the
// big receivers check before they accept bulk mail from this server, and
// prints one line per check and per bulk-sender rule (src/doctor/).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace volley::admin {

struct DoctorOptions {
  std::string domain;
  bool json = false;
  std::vector<std::string> addresses;  // --address: the sending addresses, instead of the configured ones
  uint16_t mta_sts_port = 443;         // --mta-sts-port: where the policy server listens (tests)
};

// Exit codes: 0 every check passed, 1 some failed, 2 bad usage or
// configuration (with "volley: doctor: reason" on `err`).
int run_doctor(const DoctorOptions& opts, const config::Config& cfg, std::ostream& out, std::ostream& err);

// The address the kernel would send from toward the public Internet
// (a UDP socket "connected" to a public address: no packet is sent), one
// per family that has a route; empty with `why` set when neither has.
std::vector<std::string> outbound_addresses(std::string& why);

}  // namespace volley::admin
