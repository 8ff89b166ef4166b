#include "discovery/bootstrap_plan.hpp"

#include <algorithm>

namespace crust {

namespace {

/// A refused endpoint is dialled again when its retry-after ends at most
/// this many times in a row (then it waits for rounds and their backoff):
/// a peer that keeps saying "retry soon" cannot make us spin.
constexpr uint32_t max_refusals_per_round = 8;

/// A retry-after is taken within these bounds.
constexpr auto min_retry_after = std::chrono::milliseconds(100);
constexpr auto max_retry_after = std::chrono::minutes(10);

} // namespace

bootstrap_plan::bootstrap_plan(config cfg, time_point now, uint64_t seed)
  : cfg_(cfg), rng_(seed), next_round_at_(now) {
  cfg_.target = std::max<size_t>(cfg_.target, 1);
  cfg_.parallel = std::max<size_t>(cfg_.parallel, 1);
  cfg_.backoff_min = std::max(cfg_.backoff_min, duration{std::chrono::milliseconds(10)});
  cfg_.backoff_max = std::max(cfg_.backoff_max, cfg_.backoff_min);
}

bootstrap_plan::duration bootstrap_plan::jittered(duration d, double low, double high) {
  std::uniform_real_distribution<double> dist(low, high);
  return std::chrono::duration_cast<duration>(d * dist(rng_));
}

bool bootstrap_plan::queued_or_busy(const candidate& x) const {
  if (dialled_.count(x.remote) > 0 || in_flight_.count(x.remote) > 0)
    return true;
  if (!x.peer.empty() && connected_.count(x.peer) > 0)
    return true;
  // One candidate per peer at a time (a peer lists TCP and UDP endpoints).
  auto same = [&](const candidate& y) {
    return y.remote == x.remote || (!x.peer.empty() && y.peer == x.peer);
  };
  if (std::any_of(queue_.begin(), queue_.end(), same))
    return true;
  return !x.peer.empty()
         && std::any_of(in_flight_.begin(), in_flight_.end(),
                        [&](const auto& f) { return f.second.second == x.peer; });
}

void bootstrap_plan::enqueue(const candidate& x) {
  if (!queued_or_busy(x))
    queue_.push_back(x);
}

void bootstrap_plan::forget_oldest_discovered() {
  auto victim = discovered_order_.front();
  discovered_order_.pop_front();
  known_.erase(victim);
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [&](const candidate& y) { return y.remote == victim; }),
               queue_.end());
}

void bootstrap_plan::add(const std::vector<candidate>& xs, bool from_cache) {
  for (auto& x : xs) {
    auto [i, fresh] = known_.try_emplace(x.remote);
    if (!x.peer.empty())
      i->second.peer = x.peer;
    if (fresh) {
      if (from_cache) {
        ++cached_;
        cache_order_.push_back(x.remote);
      } else {
        discovered_order_.push_back(x.remote);
        if (discovered_order_.size() > cfg_.max_discovered)
          forget_oldest_discovered();
        if (known_.count(x.remote) == 0)
          continue;
      }
    }
    // While a round runs, every candidate joins it; between rounds only a
    // new one (see `next_dials`).
    if (round_active_ || (fresh && !stopped_ && connected_.size() < cfg_.target))
      enqueue(candidate{x.remote, i->second.peer});
  }
}

void bootstrap_plan::add_fallbacks(const std::vector<endpoint>& xs) {
  for (auto& x : xs)
    if (std::find(fallbacks_.begin(), fallbacks_.end(), x) == fallbacks_.end())
      fallbacks_.push_back(x);
}

void bootstrap_plan::begin_round(time_point now) {
  round_active_ = true;
  fallbacks_queued_ = false;
  ++rounds_;
  queue_.clear();
  dialled_.clear();
  // Cache entries first (most recent first, as the cache lists them), then
  // what was discovered, oldest first; fallback contacts when those run out.
  for (auto* order : {&cache_order_, &discovered_order_})
    for (auto& ep : *order)
      enqueue(candidate{ep, known_[ep].peer});
  end_round_if_over(now);
}

std::vector<endpoint> bootstrap_plan::next_dials(time_point now) {
  std::vector<endpoint> result;
  if (stopped_ || connected_.size() >= cfg_.target)
    return result;
  if (!round_active_ && now >= next_round_at_)
    begin_round(now);
  auto due = [&](const candidate& x) {
    auto k = known_.find(x.remote);
    return k == known_.end() || k->second.not_before <= now;
  };
  // Fallback contacts once the cache and discoveries are used up (or all
  // that is left of them waits on a retry-after).
  if (round_active_ && !fallbacks_queued_ && in_flight_.empty()
      && std::none_of(queue_.begin(), queue_.end(), due)) {
    fallbacks_queued_ = true;
    for (auto& ep : fallbacks_)
      enqueue(candidate{ep, known_[ep].peer});
  }
  // Between rounds the queue holds only candidates discovered since the
  // last one: new information is tried at once, the old waits its backoff.
  for (auto i = queue_.begin(); i != queue_.end();) {
    if (in_flight_.size() >= cfg_.parallel
        || connected_.size() + in_flight_.size() >= cfg_.target + cfg_.parallel)
      break;
    if (!i->peer.empty() && connected_.count(i->peer) > 0) {
      i = queue_.erase(i);
      continue;
    }
    if (!due(*i)) {
      ++i;
      continue;
    }
    auto x = *i;
    i = queue_.erase(i);
    dialled_.insert(x.remote);
    in_flight_.emplace(x.remote, std::make_pair(now, x.peer));
    ++tried_;
    result.push_back(x.remote);
  }
  end_round_if_over(now);
  return result;
}

void bootstrap_plan::end_round_if_over(time_point now) {
  if (connected_.size() >= cfg_.target) {
    // Done: what is queued waits for a later round, should one be needed.
    round_active_ = false;
    queue_.clear();
    last_outcome_ = bootstrap_state::done;
    failed_rounds_ = 0;
    return;
  }
  if (!round_active_)
    return;
  bool fallbacks_pending = !fallbacks_queued_ && !fallbacks_.empty();
  if (!queue_.empty() || !in_flight_.empty() || fallbacks_pending)
    return;
  round_active_ = false;
  last_outcome_ = connected_.empty() ? bootstrap_state::failed : bootstrap_state::exhausted;
  auto wait = cfg_.backoff_min;
  for (uint32_t i = 0; i < failed_rounds_ && wait < cfg_.backoff_max; ++i)
    wait *= 2;
  wait = std::min(wait, cfg_.backoff_max);
  next_round_at_ = now + jittered(wait, 0.5, 1.0);
  ++failed_rounds_;
}

void bootstrap_plan::on_up(const peer_id& peer, const endpoint& remote, time_point now) {
  connected_.insert(peer);
  in_flight_.erase(remote);
  // Other attempts at the same peer are moot now.
  for (auto i = in_flight_.begin(); i != in_flight_.end();)
    i = i->second.second == peer ? in_flight_.erase(i) : std::next(i);
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [&](const candidate& x) { return x.peer == peer; }),
               queue_.end());
  refusals_.erase(remote);
  if (auto k = known_.find(remote); k != known_.end()) {
    k->second.not_before = {};
    if (!peer.empty())
      k->second.peer = peer;
  }
  end_round_if_over(now);
}

void bootstrap_plan::on_down(const peer_id& peer, time_point now) {
  if (connected_.erase(peer) == 0 || stopped_ || round_active_
      || connected_.size() >= cfg_.target)
    return;
  // Below the target again (churn, a network change): a round soon, with
  // the backoff reset, spread so that peers who lost the same node do not
  // all dial at once.
  failed_rounds_ = 0;
  auto soon = now + jittered(cfg_.backoff_min, 0.0, 1.0);
  if (last_outcome_ == bootstrap_state::done || next_round_at_ > soon)
    next_round_at_ = soon;
  last_outcome_ = connected_.empty() ? bootstrap_state::failed : bootstrap_state::exhausted;
}

void bootstrap_plan::on_failed(const endpoint& remote, time_point now, duration retry_after) {
  bool ours = in_flight_.erase(remote) > 0;
  if (ours && retry_after > duration::zero()) {
    auto wait = std::clamp<duration>(retry_after, min_retry_after, max_retry_after);
    auto& k = known_[remote];
    k.not_before = now + jittered(wait, 1.0, 1.5);
    // The peer asked us back: again in this round, a bounded number of
    // times in a row.
    if (round_active_ && ++refusals_[remote] <= max_refusals_per_round) {
      dialled_.erase(remote);
      enqueue(candidate{remote, k.peer});
    }
  }
  end_round_if_over(now);
}

void bootstrap_plan::on_timeout(time_point now) {
  for (auto i = in_flight_.begin(); i != in_flight_.end();) {
    if (now - i->second.first >= cfg_.attempt_timeout)
      i = in_flight_.erase(i);
    else
      ++i;
  }
  end_round_if_over(now);
}

void bootstrap_plan::stop() {
  stopped_ = true;
  round_active_ = false;
  queue_.clear();
}

void bootstrap_plan::start(time_point now) {
  stopped_ = false;
  failed_rounds_ = 0;
  refusals_.clear();
  next_round_at_ = now;
}

bootstrap_state bootstrap_plan::state() const {
  if (stopped_)
    return bootstrap_state::stopped;
  if (connected_.size() >= cfg_.target)
    return bootstrap_state::done;
  if (round_active_ || !last_outcome_ || *last_outcome_ == bootstrap_state::done)
    return bootstrap_state::running;
  return *last_outcome_;
}

bootstrap_status bootstrap_plan::status(time_point now) const {
  bootstrap_status x;
  x.state = state();
  x.connected = static_cast<uint32_t>(connected_.size());
  x.tried = tried_;
  x.remaining = static_cast<uint32_t>(queue_.size()
                                      + (fallbacks_queued_ || !round_active_ ? 0 : fallbacks_.size()));
  x.cached = cached_;
  x.round = rounds_;
  if ((x.state == bootstrap_state::exhausted || x.state == bootstrap_state::failed)
      && next_round_at_ > now)
    x.retry_in_ms = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(next_round_at_ - now).count());
  return x;
}

} // namespace crust
