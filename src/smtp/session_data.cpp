// Message content: DATA and BDAT (RFC 5321 4.1.1.4, RFC 3030), building the
// message handed to the spool (trace headers added), and the final reply.
//
// A message larger than limits.message_memory_threshold is not held whole:
// each time the reader holds that much, the content so far goes out as a
// SpillRequest (the loop appends it to a body file off the I/O thread and
// reads nothing meanwhile), and the final piece goes with the commit. The
// trace headers are built as for a small message and committed as the
// record's head, in front of the body file's bytes.
#include <ctime>

#include "queue/queue_id.hpp"
#include "smtp/headers.hpp"
#include "smtp/received.hpp"
#include "smtp/session.hpp"
#include "smtp/session_transaction.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::smtp {
namespace {
const char* dsn_ret_name(DsnRet r) {
  switch (r) {
    case DsnRet::Full: return "FULL";
    case DsnRet::Headers: return "HDRS";
    case DsnRet::Unspecified: break;
  }
  return "";
}

Reply verdict_reply(Verdict v, uint64_t max_line) {
  switch (v) {
    case Verdict::TooBig: return Reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    case Verdict::LineTooLong:
      return Reply(552, "5.3.4", "Message has a line longer than " + std::to_string(max_line) + " octets");
    case Verdict::BareCarriageReturn:
      return Reply(550, "5.6.0", "Message contains bare CR characters; lines must end with CRLF (RFC 5321 2.3.8)");
    case Verdict::NulByte: return Reply(550, "5.6.0", "Message contains NUL characters");
    case Verdict::Ok: break;
  }
  return Reply(250, "2.0.0", "Ok");
}

// The one mapping of a storage failure to a reply (RFC 3463 4.3.x).
Reply storage_failure_reply(const Error& e) {
  if (e.code == ErrorCode::NoSpace) return Reply(452, "4.3.1", "Insufficient system storage, try again later");
  return Reply(451, "4.3.0", "Temporary local problem, try again later");
}
}  // namespace

void Session::do_data(std::string_view arg) {
  if (!arg.empty()) return error(501, "5.5.4", "Syntax: DATA");
  if (!tx_) return error(503, "5.5.1", "Need MAIL command first");
  if (tx_->bdat_started) return error(503, "5.5.1", "DATA not allowed after BDAT");
  if (state_ != State::Rcpt) return error(554, "5.5.1", "No valid recipients");
  tx_->data.emplace(ContentLimits{settings_.limits.max_message_size, settings_.limits.max_line_length,
                                  settings_.limits.message_memory_threshold});
  enter_state(State::Data);
  reply(354, "", "End data with <CR><LF>.<CR><LF>");
}

bool Session::feed_data() {
  std::string_view pending(in_);
  pending.remove_prefix(in_pos_);
  if (pending.empty()) return false;
  DataReader& reader = *tx_->data;
  in_pos_ += reader.feed(pending);
  if (!reader.done()) return hold_limit_reached(reader.held()) && spill(reader.take_body());
  ++progress_;
  finish_message(tx_->data->verdict(), tx_->data->size());
  return true;
}

void Session::do_bdat(std::string_view arg) {
  auto parsed = parse_bdat(arg);
  if (!parsed.ok) {
    // Without a valid size we cannot know where the chunk ends: the dialogue
    // is lost, so close (RFC 3030 leaves no other safe choice).
    return close_with(501, "5.5.4", "Syntax: BDAT size [LAST]; closing connection");
  }
  const BdatCommand& b = parsed.value;
  auto skip = [&](Reply r) {
    // The chunk must be read even when refused, to stay in step.
    if (r.code >= 500) count_error();
    skip_remaining_ = b.size;
    skip_reply_ = std::move(r);
    skip_return_state_ = state_;
    enter_state(State::BdatSkip);
  };
  if (!tx_) return skip(Reply(503, "5.5.1", "Need MAIL command first"));
  if (state_ != State::Rcpt) return skip(Reply(554, "5.5.1", "No valid recipients"));
  if (!tx_->bdat_started) {
    tx_->chunks.emplace(ContentLimits{settings_.limits.max_message_size, settings_.limits.max_line_length,
                                      settings_.limits.message_memory_threshold});
    tx_->bdat_started = true;
  }
  tx_->chunks->begin_chunk(b.size);
  last_chunk_ = b.last;
  enter_state(State::Bdat);
}

bool Session::feed_bdat() {
  std::string_view pending(in_);
  pending.remove_prefix(in_pos_);
  if (state_ == State::BdatSkip) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(skip_remaining_, pending.size()));
    in_pos_ += n;
    skip_remaining_ -= n;
    if (skip_remaining_ > 0) return false;
    ++progress_;
    enter_state(skip_return_state_);
    Reply r = std::move(*skip_reply_);
    skip_reply_.reset();
    reply(r);
    if (errors_ >= settings_.limits.max_errors)
      close_with(421, "4.7.0", settings_.hostname + " Too many errors, closing connection");
    return true;
  }
  ChunkReader& chunks = *tx_->chunks;
  in_pos_ += chunks.feed(pending);
  if (!chunks.chunk_done()) return hold_limit_reached(chunks.held()) && spill(chunks.take_body());
  ++progress_;
  if (last_chunk_) {
    chunks.finish();
    finish_message(chunks.verdict(), chunks.size());
    return true;
  }
  if (chunks.verdict() != Verdict::Ok) {
    // Refuse now; later chunks of this message are skipped with 503.
    refuse_message(verdict_reply(chunks.verdict(), settings_.limits.max_line_length), chunks.size());
    return true;
  }
  if (tx_->spilled && tx_->spilled->refusal) {
    refuse_message(*tx_->spilled->refusal, chunks.size());
    return true;
  }
  enter_state(State::Rcpt);
  reply(250, "2.0.0", std::to_string(chunks.size()) + " octets received");
  if (hold_limit_reached(chunks.held())) spill(chunks.take_body());
  return true;
}

bool Session::hold_limit_reached(uint64_t held) const {
  const uint64_t limit = settings_.limits.message_memory_threshold;
  return limit != 0 && held >= limit;
}

bool Session::spill(std::string bytes) {
  Transaction& t = *tx_;
  if (!t.spilled) {
    // The first piece holds the header block (of any sane message): take
    // from it what the trace headers and the loop check need.
    SpilledContent& s = t.spilled.emplace();
    s.id = queue::make_queue_id();
    s.received_headers = count_received(bytes);
    s.has_message_id = has_header(bytes, "Message-ID");
    s.has_date = has_header(bytes, "Date");
    if (s.received_headers >= kMaxReceivedHeaders) s.refusal = Reply(554, "5.4.6", "Too many hops (mail loop?)");
    s.added_fields = fields_to_add(s.id, std::time(nullptr), s.has_message_id, s.has_date);
    const size_t end = header_block_end(bytes);
    const bool whole_block = end < bytes.size() || std::string_view(bytes).ends_with("\r\n\r\n");
    if (!s.refusal && whole_block) {
      if (!begin_checks(bytes)) {
        s.signing = begin_signing(s.added_fields, std::string_view(bytes).substr(0, end));
        if (s.signing) s.signing->body(std::string_view(bytes).substr(end));
      }
    } else if (!whole_block && (settings_.signer || settings_.checks)) {
      log::warn("smtp.headers_not_examined").kv("client", client_.ip)
          .kv("reason", "header block larger than the memory threshold: not signed, not checked");
    }
  } else {
    if (t.spilled->signing) t.spilled->signing->body(bytes);
    if (t.check) t.check->body(bytes);
  }
  if (t.spilled->refusal) return false;  // the answer is decided: read on, keep nothing
  spill_request_ = SpillRequest{SpillRequest::Kind::Append, t.spilled->id, std::move(bytes), nullptr};
  open_spill_ = t.spilled->id;
  return true;
}

bool Session::orphaned_spill() {
  if (open_spill_.empty() || (tx_ && tx_->spilled && tx_->spilled->id == open_spill_)) return false;
  // The transaction that owned the body file ended without a commit
  // (refused, RSET, timeout, shutdown): nothing of it may remain.
  spill_request_ = SpillRequest{SpillRequest::Kind::Discard, std::move(open_spill_), {}, nullptr};
  open_spill_.clear();
  return true;
}

void Session::cancel_spill() {
  if (!spill_request_ || spill_request_->kind == SpillRequest::Kind::Discard) return;
  open_spill_ = std::move(spill_request_->id);  // the file may exist: orphaned_spill() removes it
  spill_request_.reset();
}

SpillRequest Session::take_spill() {
  if (!spill_request_) return SpillRequest{SpillRequest::Kind::Discard, {}, {}, nullptr};
  SpillRequest r = std::move(*spill_request_);
  spill_request_.reset();
  return r;
}

void Session::spill_result(const Result<void>& result) {
  if (result) return;
  log::error("spool.spill_failed").kv("client", client_.ip).kv("error", result.error().message);
  if (!tx_ || !tx_->spilled) return;
  // Answered at the end of the content, which is still read (and dropped)
  // so the dialogue stays in step.
  tx_->spilled->refusal = storage_failure_reply(result.error());
  if (open_spill_ == tx_->spilled->id) {
    spill_request_ = SpillRequest{SpillRequest::Kind::Discard, std::move(open_spill_), {}, nullptr};
    open_spill_.clear();
  }
}

size_t Session::message_memory() const {
  size_t n = spill_request_ ? spill_request_->bytes.capacity() : 0;
  if (pending_commit_) n += pending_commit_->content.capacity();
  if (tx_ && tx_->data) n += tx_->data->held_capacity();
  if (tx_ && tx_->chunks) n += tx_->chunks->held_capacity();
  return n;
}

void Session::refuse_message(const Reply& r, uint64_t size) {
  log_transaction(r, size);
  reply(r);
  tx_.reset();
  enter_state(State::Ready);
}

void Session::finish_message(Verdict verdict, uint64_t size) {
  if (verdict != Verdict::Ok) return refuse_message(verdict_reply(verdict, settings_.limits.max_line_length), size);
  std::string body = tx_->data ? tx_->data->take_body() : tx_->chunks->take_body();
  tx_->data.reset();
  tx_->chunks.reset();
  const SpilledContent* spilled = tx_->spilled ? &*tx_->spilled : nullptr;
  if (spilled && spilled->refusal) return refuse_message(*spilled->refusal, size);
  if ((spilled ? spilled->received_headers : count_received(body)) >= kMaxReceivedHeaders)
    return refuse_message(Reply(554, "5.4.6", "Too many hops (mail loop?)"), size);

  auto msg = std::make_shared<queue::Message>();
  queue::Envelope& env = msg->envelope;
  env.id = spilled ? spilled->id : queue::make_queue_id();
  env.sender = tx_->sender;
  env.recipients = tx_->recipients;
  env.dsn_ret = dsn_ret_name(tx_->mail.ret);
  env.dsn_envid = tx_->mail.envid;
  env.smtputf8 = tx_->mail.smtputf8;
  env.eight_bit = tx_->mail.body == BodyType::EightBitMime;
  env.client_ip = client_.ip;
  env.helo = helo_;
  env.tls = tls_active_ ? tls_.version + " " + tls_.cipher : "";
  env.auth_user = auth_user_;
  env.listener = settings_.listener_name;
  env.received_at = static_cast<int64_t>(std::time(nullptr));

  ReceivedInfo ri;
  ri.helo = helo_;
  ri.client_ip = client_.ip;
  ri.hostname = settings_.hostname;
  ri.esmtp = esmtp_;
  ri.tls = tls_active_;
  ri.tls_version = tls_.version;
  ri.tls_cipher = tls_.cipher;
  ri.authenticated = authenticated_;
  ri.auth_user = auth_user_;
  ri.smtputf8 = tx_->mail.smtputf8;
  ri.queue_id = env.id;
  if (tx_->rcpt_accepted == 1 && env.recipients.size() == 1) ri.single_recipient = env.recipients.front().original;
  ri.when = static_cast<std::time_t>(env.received_at);

  const std::string added =
      spilled ? spilled->added_fields
              : fields_to_add(env.id, ri.when, has_header(body, "Message-ID"), has_header(body, "Date"));
  // DKIM (issue 10): the signature covers the fields as queued, so the
  // queued bytes are the signed bytes.
  std::string signature;
  std::unique_ptr<ContentSigner::Job> signing;
  if (spilled) {
    signing = std::move(tx_->spilled->signing);
    if (signing) signing->body(body);
    if (tx_->check) tx_->check->body(body);
  } else if (!begin_checks(body)) {
    const size_t end = header_block_end(body);
    signing = begin_signing(added, std::string_view(body).substr(0, end));
    if (signing) signing->body(std::string_view(body).substr(end));
  }
  if (signing) {
    auto signed_fields = signing->finish();
    if (!signed_fields) {
      // A key that loaded at start cannot normally fail; never queue
      // unsigned what the operator asked to have signed.
      log::error("dkim.sign_failed").kv("client", client_.ip).kv("error", signed_fields.error().message);
      return refuse_message(Reply(451, "4.3.0", "Temporary local problem (signing), try again later"), size);
    }
    signature = std::move(signed_fields.value());
  }

  std::string& content = msg->content;
  if (!spilled) content.reserve(body.size() + signature.size() + 512);
  content = make_received_header(ri);
  const size_t after_received = content.size();
  content += signature;
  content += added;
  committed_id_ = env.id;
  commit_size_ = size;
  if (!spilled) content += body;
  if (tx_->check) {
    // Committed only once the sender checks (DNS) have answered.
    pending_check_ = std::move(tx_->check);
    held_header_at_ = after_received;
    if (spilled) held_spill_ = SpillRequest{SpillRequest::Kind::Commit, env.id, std::move(body), std::move(msg)};
    else held_commit_ = std::move(msg);
    return enter_state(State::WaitCheck);  // a spilled body file stays open_spill_: refused, it is discarded
  }
  if (spilled) {
    // The head goes in the record, the last piece into the body file.
    spill_request_ = SpillRequest{SpillRequest::Kind::Commit, env.id, std::move(body), std::move(msg)};
    open_spill_.clear();  // the loop commits the file now, or removes it
  } else {
    pending_commit_ = std::move(msg);
  }
  enter_state(State::WaitCommit);
}

bool Session::sender_checks_apply() const {
  // Mail from the internet: not our users, not our relay networks.
  return settings_.checks && settings_.role == config::SmtpRole::Mx && !authenticated_ &&
         !directory_.relay_allowed(client_.address);
}

bool Session::begin_checks(std::string& message) {
  if (!sender_checks_apply()) return false;
  const size_t end = header_block_end(message);
  std::string header_block = message.substr(0, end);
  auto job = settings_.checks->begin(header_block, SenderChecks::Context{client_.ip, helo_, tx_->sender});
  if (!job) return false;
  if (header_block.size() != end) message.replace(0, end, header_block);
  job->body(std::string_view(message).substr(header_block.size()));
  tx_->check = std::move(job);
  return true;
}

std::unique_ptr<SenderChecks::Job> Session::take_check() { return std::move(pending_check_); }

void Session::check_result(const SenderVerdict& verdict) {
  if (state_ != State::WaitCheck) return drop_held_message();
  if (verdict.kind == SenderVerdict::Kind::Refuse) {
    drop_held_message();  // a spilled body file is still open_spill_: removed once the transaction is gone
    return refuse_message(verdict.refusal, commit_size_);
  }
  queue::Message& msg = held_spill_ ? *held_spill_->head : *held_commit_;
  msg.content.insert(held_header_at_, verdict.header);
  if (verdict.kind == SenderVerdict::Kind::Quarantine) msg.envelope.folder = queue::kJunkFolder;
  if (held_spill_) {
    spill_request_ = std::move(held_spill_);
    held_spill_.reset();
    open_spill_.clear();  // the loop commits the file now, or removes it
  } else {
    pending_commit_ = std::move(held_commit_);
  }
  enter_state(State::WaitCommit);
}

void Session::drop_held_message() {
  pending_check_.reset();
  held_commit_.reset();
  held_spill_.reset();
}

std::string Session::fields_to_add(const std::string& id, std::time_t when, bool has_message_id, bool has_date) const {
  // Submitted mail gets the fields RFC 5322 requires when its author's
  // software left them out (mail relayed from other MTAs is left alone).
  std::string fields;
  if (!authenticated_) return fields;
  if (!has_message_id) fields += "Message-ID: <" + id + "@" + settings_.hostname + ">\r\n";
  if (!has_date) fields += "Date: " + rfc5322_date(when) + "\r\n";
  return fields;
}

std::unique_ptr<ContentSigner::Job> Session::begin_signing(std::string_view added_fields,
                                                           std::string_view header_block) const {
  // Mail this server originates: its own users' and its relay networks'.
  // Mail arriving from the internet for local mailboxes is not signed.
  if (!settings_.signer || !(authenticated_ || directory_.relay_allowed(client_.address))) return nullptr;
  std::string block;
  block.reserve(added_fields.size() + header_block.size());
  block.append(added_fields).append(header_block);
  return settings_.signer->begin(block);
}

std::shared_ptr<queue::Message> Session::take_commit() { return std::move(pending_commit_); }

void Session::commit_result(const Result<void>& result) {
  if (state_ != State::WaitCommit) return;
  Reply r = result ? Reply(250, "2.0.0", "Ok: queued as " + committed_id_) : storage_failure_reply(result.error());
  if (!result) log::error("spool.commit_failed").kv("client", client_.ip).kv("detail", result.error().message);
  log_transaction(r, commit_size_);
  reply(r);
  if (result) junk_commands_ = 0;  // Postfix resets its junk count per accepted message
  tx_.reset();
  enter_state(State::Ready);
}

void Session::log_transaction(const Reply& r, uint64_t size) {
  auto line = log::info("smtp.message");
  line.kv("client", client_.ip)
      .kv("listener", settings_.listener_name)
      .kv("tls", tls_active_ ? tls_.version : std::string("none"))
      .kv("user", auth_user_)
      .kv("from", tx_ ? tx_->sender : std::string())
      .kv("rcpts", static_cast<uint64_t>(tx_ ? tx_->recipients.size() : 0))
      .kv("size", size)
      .kv("result", r.code < 300 ? "accepted" : "refused")
      .kv("reply", std::to_string(r.code) + " " + r.enhanced);
  if (r.code < 300) line.kv("queue_id", committed_id_);
}

}  // namespace volley::smtp
