// Local recipients: handed to the Maildir DeliveryTarget on the blocking
// pool (each file is fsync'd), outcomes posted back to the engine thread.
// Recipients the daemon consumes itself (recipient_consumer.hpp) go the
// same way to the consumer's target.
#include <asio/post.hpp>

#include "delivery/engine.hpp"
#include "delivery/maildir_target.hpp"

namespace volley::delivery {

void Engine::deliver_local(Job job) {
  deliver_on_pool(std::move(job), std::make_shared<MaildirTarget>(cfg().server.data_dir + "/mail",
                                                                  cfg().server.hostname, posix_file_system(), quota_));
}

void Engine::deliver_consumed(Job job) {
  // Not owned: the consumer outlives the engine (set before start()).
  deliver_on_pool(std::move(job), std::shared_ptr<DeliveryTarget>(std::shared_ptr<void>(), &consumer_->target()));
}

void Engine::deliver_on_pool(Job job, std::shared_ptr<DeliveryTarget> target) {
  ++in_flight_;
  asio::post(pool_, [this, job = std::move(job), target = std::move(target)]() mutable {
    auto outs = deliver_through(*target, *job.active->msg, job.rcpts);
    asio::post(io_, [this, job = std::move(job), outs = std::move(outs)]() mutable {
      --in_flight_;
      complete_job(job, outs);
    });
  });
}

}  // namespace volley::delivery
