// Expands accepted campaigns into the queue (POST /v1/campaigns answers as
// soon as the request is stored: platform/campaign_store.hpp). One thread,
// one campaign at a time, a batch of recipients at a time: each message is
// rendered on its own (merge fields, To:, List-Unsubscribe with a token for
// that recipient, a VERP return path), the batch's history and events are
// written in one transaction, all its messages are committed to the queue
// together (sharing group commits), and then the campaign's progress is
// recorded. Memory: the parsed campaign (one short string per variable per
// recipient) and one batch of messages, never the whole campaign.
//
// Never lost, never sent twice: after a crash or a failed batch, the batch
// is redone with every recipient checked first: one whose message the
// history names and that is in the queue, or already has a delivery result,
// is skipped; one whose message never reached the queue is sent with the
// same id.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "api/api_context.hpp"
#include "config/config.hpp"
#include "platform/campaign_store.hpp"

namespace volley::api {

// Where unsubscribe links point: api.public_url, or else the first http
// listener (http:// or https:// by its tls, the server's hostname when it
// listens on every address). "" when there is neither.
std::string unsubscribe_base_url(const config::Config& cfg);

class CampaignRunner {
 public:
  struct Options {
    std::string unsubscribe_base;  // "https://mail.example.com" (no trailing slash)
    size_t batch = 256;            // recipients per batch
    // Threads rendering a batch's messages (MIME, DKIM), the runner's
    // included; the database work stays on the runner.
    size_t render_threads = 2;
    // After a failed batch (storage trouble), the pause before it is redone.
    std::chrono::milliseconds retry_pause{5000};
    // Whether a message id is in the queue (resuming a batch).
    std::function<bool(const std::string&)> in_queue;
  };

  CampaignRunner(ApiContext& ctx, Options options);
  ~CampaignRunner();
  CampaignRunner(const CampaignRunner&) = delete;
  CampaignRunner& operator=(const CampaignRunner&) = delete;

  // Starts the thread, which first resumes every unfinished campaign.
  void start();
  // A new campaign is in the store: expand it.
  void wake();
  // Stops after the batch in hand (the rest resumes at the next start).
  void stop();

  // Runs every unfinished campaign to its end on the calling thread (tests).
  void run_pending();

 private:
  void loop();
  // false: stopped or failed part-way (the campaign stays unfinished).
  bool expand(const platform::CampaignJob& job);

  ApiContext& ctx_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool work_ = true;  // check the store at start
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace volley::api
