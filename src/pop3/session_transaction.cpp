// The TRANSACTION and UPDATE states (RFC 1939 5, 6): the listings, RETR and
// TOP streamed piece by piece, DELE/RSET marks, and QUIT's commit.
#include <algorithm>
#include <string>

#include "pop3/session.hpp"
#include "util/log.hpp"

namespace volley::pop3 {

Result<void> run_commit(Session::CommitJob& job) {
  Result<void> r;
  if (!job.deleted.empty() || !job.retrieved.empty()) r = job.maildrop->commit(job.deleted, job.retrieved);
  job.maildrop.reset();  // releases the mailbox lock
  return r;
}

void run_fetch(FetchJob& job) {
  job.chunk.clear();
  job.end = false;
  if (!job.reader) {
    auto opened = job.maildrop->open_message(job.index);
    if (!opened) {
      job.status = opened.error();
      return;
    }
    job.reader = std::move(opened.value());
  }
  std::string piece;
  while (job.chunk.size() < job.max) {
    job.status = job.reader->read(piece, job.max - job.chunk.size());
    if (!job.status) return;
    if (piece.empty()) {
      job.end = true;
      return;
    }
    job.chunk.append(piece);
  }
}

std::optional<size_t> Session::message(const CommandLine& c, size_t arg) {
  if (c.arg_count <= arg) {
    bad("Message number missing.");
    return std::nullopt;
  }
  const auto n = parse_message_number(c.args[arg]);
  if (!n) {
    bad("Invalid message number.");
    return std::nullopt;
  }
  const size_t index = *n - 1;
  if (index >= deleted_.size()) {
    std::string text = "There's no message ";
    text.append(std::to_string(*n)).push_back('.');
    err(text);
    return std::nullopt;
  }
  if (deleted_[index]) {
    err("Message is deleted.");
    return std::nullopt;
  }
  return index;
}

void Session::do_stat(const CommandLine&) {
  const uint64_t count = deleted_.size() - deleted_count_;
  ok(std::to_string(count) + " " + std::to_string(total_bytes_ - deleted_bytes_));
}

// LIST and UIDL: one message, or every message not marked deleted (written
// a part at a time: a mailbox of 100,000 messages lists 2.5 MB).
void Session::scan_listing(bool uidl, const CommandLine& c) {
  const auto& entries = maildrop_->entries();
  if (c.arg_count > 0) {
    auto index = message(c);
    if (!index) return;
    std::string line = std::to_string(*index + 1);
    line.push_back(' ');
    line.append(uidl ? maildrop_->uidl(*index) : std::to_string(entries[*index].size));
    return ok(line);
  }
  ok(uidl ? "" : std::to_string(entries.size() - deleted_count_) + " messages:");
  listing_uidl_ = uidl;
  listing_next_ = 0;
  enter_state(State::Listing);
}

void Session::continue_listing() {
  const auto& entries = maildrop_->entries();
  for (; listing_next_ < entries.size() && out_.size() < kOutputHighWater; ++listing_next_) {
    const size_t i = listing_next_;
    if (deleted_[i]) continue;
    out_.append(std::to_string(i + 1));
    out_.push_back(' ');
    out_.append(listing_uidl_ ? maildrop_->uidl(i) : std::to_string(entries[i].size));
    out_.append("\r\n");
  }
  if (listing_next_ < entries.size()) return;
  out_.append(".\r\n");
  enter_state(State::Transaction);
}

void Session::do_list(const CommandLine& c) { scan_listing(false, c); }
void Session::do_uidl(const CommandLine& c) { scan_listing(true, c); }

void Session::do_retr(const CommandLine& c) {
  auto index = message(c);
  if (index) begin_sending(*index, MultilineEncoder::kAllLines);
}

void Session::do_top(const CommandLine& c) {
  if (c.arg_count < 2) return bad("TOP needs a message number and a line count.");
  auto lines = parse_line_count(c.args[1]);
  if (!lines) return bad("Invalid line count.");
  auto index = message(c);
  if (index) begin_sending(*index, *lines);
}

void Session::begin_sending(size_t index, uint64_t body_lines) {
  sending_index_ = index;
  reader_.reset();
  encoder_.emplace(body_lines);
  sending_expected_ = maildrop_->entries()[index].size;
  sending_read_ = 0;
  sending_whole_ = body_lines == MultilineEncoder::kAllLines;
  header_sent_ = false;
  // The status line goes out with the first piece, once the message could
  // be opened: an unreadable message still gets a proper -ERR.
  enter_state(State::Sending);
}

FetchJob Session::take_fetch() {
  FetchJob job;
  job.maildrop = maildrop_.get();
  job.index = sending_index_;
  job.reader = std::move(reader_);
  return job;
}

void Session::fetch_result(FetchJob job) {
  if (state_ != State::Sending) return;
  reader_ = std::move(job.reader);
  if (!job.status) {
    const Error& e = job.status.error();
    log::warn("pop3.read_failed")
        .kv("client", client_ip_)
        .kv("user", user_)
        .kv("message", static_cast<uint64_t>(sending_index_ + 1))
        .kv("error", e.message);
    if (!header_sent_) {
      reader_.reset();
      encoder_.reset();
      enter_state(State::Transaction);
      if (e.code == ErrorCode::NotFound) return err("Message is no longer available.");
      return err("[SYS/TEMP] Cannot read the message now, try again later.");
    }
    // The status line is out: the reply cannot be ended cleanly any more.
    return close_with("");
  }
  if (!header_sent_) {
    header_sent_ = true;
    ok(sending_whole_ ? std::to_string(sending_expected_) + " octets" : std::string());
  }
  sending_read_ += job.chunk.size();
  const bool more = encoder_->feed(job.chunk, out_) && !job.end;
  if (more) return;  // next step fetches the next piece, after this one is written
  if (sending_whole_ && sending_read_ != sending_expected_)
    log::warn("pop3.size_mismatch")
        .kv("user", user_)
        .kv("message", static_cast<uint64_t>(sending_index_ + 1))
        .kv("listed", sending_expected_)
        .kv("sent", sending_read_);
  encoder_->finish(out_);
  encoder_.reset();
  reader_.reset();
  header_sent_ = false;
  // RETR only: TOP is a preview, and Dovecot marks seen "with RETR command".
  if (sending_whole_ && !retrieved_[sending_index_]) {
    retrieved_[sending_index_] = true;
    retrieved_bytes_ += sending_expected_;
  }
  enter_state(State::Transaction);
}

void Session::do_dele(const CommandLine& c) {
  auto index = message(c);
  if (!index) return;
  deleted_[*index] = true;
  ++deleted_count_;
  deleted_bytes_ += maildrop_->entries()[*index].size;
  ok("Marked to be deleted.");
}

void Session::do_rset(const CommandLine&) {
  deleted_.assign(deleted_.size(), false);
  deleted_count_ = 0;
  deleted_bytes_ = 0;
  ok("");
}

void Session::do_noop(const CommandLine&) { ok(""); }

void Session::do_quit(const CommandLine&) {
  if (state_ == State::Authorization) {
    ok("Logging out.");
    return close_with("");
  }
  // UPDATE (RFC 1939 6). Even with nothing to apply it goes through the
  // commit step: the maildrop (and its lock) is released before the +OK,
  // so a client that reconnects at once is not told [IN-USE].
  enter_state(State::WaitCommit);
}

Session::CommitJob Session::take_commit() {
  CommitJob job;
  job.maildrop = std::move(maildrop_);
  for (size_t i = 0; i < deleted_.size(); ++i) {
    if (deleted_[i]) job.deleted.push_back(i);
    if (retrieved_[i]) job.retrieved.push_back(i);
  }
  return job;
}

void Session::commit_result(const Result<void>& result) {
  if (!result) {
    log::warn("pop3.commit_failed").kv("client", client_ip_).kv("user", user_).kv("error", result.error().message);
    log_logout("commit_failed");
    err("[SYS/TEMP] Some deleted messages were not removed, try again later.");
    return close_with("");
  }
  log_logout("ok");
  ok("Logging out.");
  close_with("");
}

void Session::log_logout(const char* result) {
  uint64_t retrieved = 0;
  for (bool r : retrieved_) retrieved += r ? 1 : 0;
  log::info("pop3.logout")
      .kv("client", client_ip_)
      .kv("user", user_)
      .kv("result", result)
      .kv("retrieved", retrieved)
      .kv("retrieved_bytes", retrieved_bytes_)
      .kv("deleted", deleted_count_)
      .kv("deleted_bytes", deleted_bytes_);
}

}  // namespace volley::pop3
