#include "actors/receive_budget.hpp"

#include <algorithm>

namespace crust {

receive_budget::receive_budget(size_t queue_limit, size_t rate, std::function<void()> wake,
                               clock::time_point now)
  : queue_limit_(std::max<size_t>(1, queue_limit)),
    rate_(rate),
    wake_(std::move(wake)),
    tokens_(static_cast<double>(rate)),
    refilled_(now) {
}

/// Gives its bytes back when the last copy of its message is gone. It keeps
/// the budget (a few words) alive, so a receipt may outlive its link.
struct receive_budget::receipt {
  receipt(std::shared_ptr<receive_budget> of, size_t bytes) : budget(std::move(of)), n(bytes) {
  }

  receipt(const receipt&) = delete;
  receipt& operator=(const receipt&) = delete;

  ~receipt() {
    budget->release(n);
  }

  std::shared_ptr<receive_budget> budget;
  size_t n;
};

std::shared_ptr<void> receive_budget::deliver(size_t n, clock::time_point now) {
  refill(now);
  if (rate_ > 0)
    tokens_ -= static_cast<double>(n);
  outstanding_.fetch_add(n);
  // One allocation and one reference count per message.
  return std::make_shared<receipt>(shared_from_this(), n);
}

void receive_budget::release(size_t n) {
  auto before = outstanding_.fetch_sub(n);
  if (before - n < queue_limit_ && waiting_.load() && waiting_.exchange(false) && wake_)
    wake_();
}

bool receive_budget::may_deliver(clock::time_point now) {
  refill(now);
  if (rate_ > 0 && tokens_ <= 0)
    return false;
  if (outstanding_.load() < queue_limit_)
    return true;
  // Over the queue limit: ask to be woken, then look again (a receipt may
  // have come back in between).
  waiting_.store(true);
  if (outstanding_.load() < queue_limit_) {
    waiting_.store(false);
    return true;
  }
  return false;
}

receive_budget::clock::duration receive_budget::retry_after(clock::time_point now) {
  refill(now);
  if (rate_ == 0 || tokens_ > 0)
    return clock::duration::zero();
  auto seconds = (1.0 - tokens_) / static_cast<double>(rate_);
  return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
}

void receive_budget::refill(clock::time_point now) {
  if (rate_ == 0)
    return;
  if (now > refilled_) {
    auto elapsed = std::chrono::duration<double>(now - refilled_).count();
    tokens_ = std::min(static_cast<double>(rate_), tokens_ + elapsed * static_cast<double>(rate_));
  }
  refilled_ = now;
}

} // namespace crust
