// Private to the Session: one mail transaction (MAIL .. final reply).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "queue/envelope.hpp"
#include "smtp/command.hpp"
#include "smtp/data_reader.hpp"
#include "smtp/session.hpp"

namespace volley::smtp {

struct Session::Transaction {
  MailCommand mail;
  std::string sender;                       // canonical, "" for <>
  std::vector<queue::Recipient> recipients; // deduplicated by target address
  unsigned rcpt_accepted = 0;               // RCPT commands answered 250 (limit counts these)
  std::optional<DataReader> data;
  std::optional<ChunkReader> chunks;        // BDAT in progress
  bool bdat_started = false;
};

}  // namespace volley::smtp
