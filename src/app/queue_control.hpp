// What `volley queue ...` talks to in the running daemon: the spool answers
// list/show/delete, the delivery engine retry/flush (and forgets deleted
// messages so they are not scheduled again).
#pragma once

#include "delivery/engine.hpp"
#include "queue/log_spool.hpp"
#include "queue/queue_admin.hpp"

namespace volley::app {

class QueueControl final : public queue::QueueAdmin {
 public:
  explicit QueueControl(queue::LogSpool& spool) : spool_(spool) {}
  void set_engine(delivery::Engine* engine) { engine_ = engine; }

  std::vector<queue::QueueEntry> list(const queue::ListFilter& filter) const override { return spool_.list(filter); }
  size_t count() const override { return spool_.count(); }
  std::optional<queue::Message> show(const std::string& id) const override { return spool_.show(id); }
  Result<void> remove(const std::string& id) override {
    auto r = spool_.remove(id);
    if (r && engine_) engine_->forget(id);
    return r;
  }
  Result<size_t> retry(const std::string& id) override {
    if (!engine_) return QueueAdmin::retry(id);
    return engine_->retry(id);
  }
  Result<size_t> retry_all() override {
    if (!engine_) return QueueAdmin::retry_all();
    return engine_->retry_all();
  }
  Result<size_t> flush(const std::string& domain) override {
    if (!engine_) return QueueAdmin::flush(domain);
    return engine_->flush(domain);
  }

 private:
  queue::LogSpool& spool_;
  delivery::Engine* engine_ = nullptr;
};

}  // namespace volley::app
