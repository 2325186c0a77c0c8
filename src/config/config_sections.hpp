// Private to src/config: the section readers of volley.toml, split over
// config.cpp (server, log, tls, limits, domains, aliases), config_listeners.cpp
// config_delivery.cpp (relay, queue, delivery, dkim) and config_platform.cpp
// (inbound, mailbox, api).
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/config_reader.hpp"

namespace volley::config::detail {

// An [aliases] entry as written; resolved against domains.local once the
// whole file has been read (the sections may come in any order).
struct PendingAlias {
  std::string address;  // lowercased key: "user@domain" or "postmaster"
  std::string dotted;   // aliases."user@domain", for messages
  uint32_t line = 0;
  std::vector<std::string> targets;
};

// The config being built plus what cross-section checks need later.
struct Draft {
  Config cfg;
  std::vector<PendingAlias> aliases;
};

// Each reads the value of one top-level key into the draft, recording errors in d.
void read_listeners(Diag& d, const toml::node& n, const std::string& key, Draft& out);
void read_relay(Diag& d, const toml::node& n, const std::string& key, Draft& out);
void read_queue(Diag& d, const toml::node& n, const std::string& key, Draft& out);
void read_delivery(Diag& d, const toml::node& n, const std::string& key, Draft& out);
void read_dkim(Diag& d, const toml::node& n, const std::string& key, Draft& out);
void read_inbound(Diag& d, const toml::node& n, const std::string& key, Draft& out);
void read_mailbox(Diag& d, const toml::node& n, const std::string& key, Draft& out);
void read_api(Diag& d, const toml::node& n, const std::string& key, Draft& out);

// "3000/h" -> 3000 per hour into r.rate_count / r.rate_period; false if malformed.
bool parse_rate(std::string_view text, ShapingRule& r);

// Lowercases the domain part of an address ("Bob@Example.COM" -> "Bob@example.com"):
// domains are case-insensitive, local parts belong to the receiving system.
std::string lower_domain(std::string_view address);

}  // namespace volley::config::detail
