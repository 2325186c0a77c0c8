// A whole SMTP dialogue through smtp::Session in-process, the connection
// loop's part done synchronously: AUTH always succeeds (as alice@example.com),
// commits succeed, spilled pieces are collected as the body file, and sender
// checks get the verdict the test chose (and see the body their job was fed).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "smtp/session.hpp"

namespace volley::test {

class Directory : public smtp::Directory {
 public:
  bool relay = false;
  bool is_local_domain(const std::string& d) const override { return d == "local.test"; }
  Result<std::vector<std::string>> local_targets(const std::string& a) const override {
    return std::vector<std::string>{a};
  }
  Result<void> check_sender(const std::string&, const smtp::Mailbox&) const override { return {}; }
  std::string postmaster() const override { return "postmaster@local.test"; }
  bool relay_allowed(const net::IpAddress&) const override { return relay; }
};

struct Dialogue {
  explicit Dialogue(config::SmtpRole role, uint64_t threshold = 0) {
    settings.hostname = "mx.test";
    settings.listener_name = "test";
    settings.role = role;
    settings.require_tls_for_auth = false;
    settings.limits.message_memory_threshold = threshold;
    client.ip = "192.0.2.7";
    client.address = *net::IpAddress::parse(client.ip);
  }
  // Runs the dialogue; returns the queued message's bytes (head + body file).
  std::string run(const std::vector<std::string>& lines) {
    s = std::make_unique<smtp::Session>(settings, client, use_directory ? *use_directory : directory);
    s->start();
    pump();
    for (const auto& l : lines) {
      for (size_t at = 0; at < l.size(); at += 8192) {
        s->receive(std::string_view(l).substr(at, 8192));
        pump();
      }
    }
    return queued;
  }
  void pump() {
    for (;;) {
      auto a = s->next();
      out += s->take_output();
      if (a == smtp::Session::Action::Read || a == smtp::Session::Action::Close) return;
      if (a == smtp::Session::Action::Authenticate) s->auth_result(Result<std::string>(std::string("alice@example.com")));
      if (a == smtp::Session::Action::Check) {
        checked.push_back(s->take_check());
        s->check_result(verdict);
      }
      if (a == smtp::Session::Action::Commit) {
        auto m = s->take_commit();
        queued = m->content;
        envelope = m->envelope;
        s->commit_result(Result<void>{});
      }
      if (a == smtp::Session::Action::Spill) {
        auto r = s->take_spill();
        if (r.kind == smtp::SpillRequest::Kind::Discard) {
          ++discards;
          body_file.clear();
          continue;
        }
        body_file += r.bytes;
        if (r.kind == smtp::SpillRequest::Kind::Append) s->spill_result(Result<void>{});
        if (r.kind == smtp::SpillRequest::Kind::Commit) {
          queued = r.head->content + body_file;
          envelope = r.head->envelope;
          s->commit_result(Result<void>{});
        }
      }
    }
  }
  smtp::SessionSettings settings;
  smtp::ClientInfo client;
  Directory directory;
  const smtp::Directory* use_directory = nullptr;  // a real directory instead of `directory`
  smtp::SenderVerdict verdict;  // what the sender checks answer
  std::unique_ptr<smtp::Session> s;
  std::vector<std::unique_ptr<smtp::SenderChecks::Job>> checked;
  queue::Envelope envelope;
  std::string out, queued, body_file;
  int discards = 0;
};

}  // namespace volley::test
