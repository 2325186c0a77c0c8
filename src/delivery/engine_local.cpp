// Local recipients: one Maildir file per recipient, written on the blocking
// pool (each file is fsync'd), outcomes posted back to the engine thread.
#include <asio/post.hpp>

#include "delivery/engine.hpp"
#include "mailbox/maildir.hpp"

namespace volley::delivery {

void Engine::deliver_local(Job job) {
  const std::string root = cfg().server.data_dir + "/mail";
  const std::string hostname = cfg().server.hostname;
  ++in_flight_;
  asio::post(pool_, [this, job = std::move(job), root, hostname]() mutable {
    const auto& m = *job.active->msg;
    std::vector<RcptOutcome> outs;
    outs.reserve(job.rcpts.size());
    for (size_t i : job.rcpts) {
      const std::string& rcpt = job.active->env.recipients[i].address;
      auto dir = mailbox::maildir_for(root, rcpt);
      if (!dir) {
        outs.push_back(local_outcome(Status::Bounced, "5.1.3", "invalid local mailbox name: " + dir.error().message, "local"));
        continue;
      }
      const std::string prefix = mailbox::delivery_headers(m.envelope.sender, rcpt);
      auto file = mailbox::deliver(*dir, prefix, m.content, hostname);
      if (!file) {
        outs.push_back(local_outcome(Status::Deferred, "4.3.0", "maildir delivery failed: " + file.error().message, "local"));
        continue;
      }
      RcptOutcome o = local_outcome(Status::Sent, "2.0.0", "250 2.0.0 delivered to maildir", "local");
      outs.push_back(std::move(o));
    }
    asio::post(io_, [this, job = std::move(job), outs = std::move(outs)]() mutable {
      --in_flight_;
      complete_job(job, outs);
    });
  });
}

}  // namespace volley::delivery
