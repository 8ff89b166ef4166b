#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace crust {

/// One link's receive budget: how many message bytes it has delivered to
/// the routing layer that the routing layer has not finished with (each
/// `message` carries a receipt that gives its bytes back when the last copy
/// of the message is gone), and a token bucket for the bytes per second it
/// may deliver. A link over budget stops taking input — its TCP window or
/// reliable-UDP window closes — so a hostile or merely fast peer cannot
/// grow our memory faster than the routing layer works.
///
/// The queue part is shared with receipts on other threads (atomics); the
/// rate part is the connection actor's alone.
class receive_budget : public std::enable_shared_from_this<receive_budget> {
public:
  using clock = std::chrono::steady_clock;

  /// `wake` is called (from any thread) when receipts bring a paused link
  /// back under `queue_limit`.
  receive_budget(size_t queue_limit, size_t rate, std::function<void()> wake,
                 clock::time_point now);

  /// Counts `n` message bytes as delivered; the receipt gives them back.
  std::shared_ptr<void> deliver(size_t n, clock::time_point now);

  /// True when the link may deliver more now. When not, the caller pauses
  /// and resumes on `wake` (queue) or after `retry_after` (rate).
  bool may_deliver(clock::time_point now);

  /// How long until the rate bucket has tokens again (zero when it has).
  clock::duration retry_after(clock::time_point now);

  size_t outstanding() const { return outstanding_.load(); }
  size_t queue_limit() const { return queue_limit_; }

private:
  struct receipt;

  void release(size_t n);
  void refill(clock::time_point now);

  size_t queue_limit_;
  size_t rate_; ///< bytes per second; 0 = unlimited
  std::function<void()> wake_;
  std::atomic<size_t> outstanding_{0};
  std::atomic<bool> waiting_{false};
  double tokens_ = 0;
  clock::time_point refilled_;
};

} // namespace crust
