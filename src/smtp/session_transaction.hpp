// Private to the Session: one mail transaction (MAIL .. final reply).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "queue/envelope.hpp"
#include "smtp/command.hpp"
#include "smtp/data_reader.hpp"
#include "smtp/session.hpp"

namespace volley::smtp {

// A message whose content is being streamed to the spool (SpillRequest).
// What the trace headers need from the content's header block is taken from
// the first piece (the header block of any sane message fits in it).
struct SpilledContent {
  std::string id;                 // queue id, made when the first piece went out
  size_t received_headers = 0;    // Received fields (loop detection)
  bool has_message_id = false;
  bool has_date = false;
  std::string added_fields;       // Message-ID/Date we add, fixed at the first piece (they are signed)
  std::unique_ptr<ContentSigner::Job> signing;  // DKIM body hash, fed every piece after the header block
  std::optional<Reply> refusal;   // looping, or a write failed: the rest is read and dropped, then this answer
};

struct Session::Transaction {
  MailCommand mail;
  std::string sender;                       // canonical, "" for <>
  std::vector<queue::Recipient> recipients; // deduplicated by target address
  unsigned rcpt_accepted = 0;               // RCPT commands answered 250 (limit counts these)
  std::optional<DataReader> data;
  std::optional<ChunkReader> chunks;        // BDAT in progress
  bool bdat_started = false;
  std::optional<SpilledContent> spilled;
  std::unique_ptr<SenderChecks::Job> check;  // sender checks, fed the body as it arrives
};

}  // namespace volley::smtp
