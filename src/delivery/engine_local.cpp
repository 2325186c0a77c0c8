// Local recipients: handed to the Maildir DeliveryTarget on the blocking
// pool (each file is fsync'd), outcomes posted back to the engine thread.
#include <asio/post.hpp>

#include "delivery/engine.hpp"
#include "delivery/maildir_target.hpp"

namespace volley::delivery {

void Engine::deliver_local(Job job) {
  auto target = std::make_shared<MaildirTarget>(cfg().server.data_dir + "/mail", cfg().server.hostname,
                                                posix_file_system(), quota_);
  ++in_flight_;
  asio::post(pool_, [this, job = std::move(job), target]() mutable {
    auto outs = deliver_through(*target, *job.active->msg, job.rcpts);
    asio::post(io_, [this, job = std::move(job), outs = std::move(outs)]() mutable {
      --in_flight_;
      complete_job(job, outs);
    });
  });
}

}  // namespace volley::delivery
