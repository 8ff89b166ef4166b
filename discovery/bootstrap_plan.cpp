#include "discovery/bootstrap_plan.hpp"

#include <algorithm>

namespace crust {

bootstrap_plan::bootstrap_plan(size_t target, size_t parallel, clock::duration attempt_timeout)
  : target_(std::max<size_t>(target, 1)),
    parallel_(std::max<size_t>(parallel, 1)),
    attempt_timeout_(attempt_timeout) {
}

bool bootstrap_plan::seen(const candidate& x) const {
  if (tried_.count(x.remote) > 0 || in_flight_.count(x.remote) > 0)
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

void bootstrap_plan::add(const std::vector<candidate>& xs, bool from_cache) {
  for (auto& x : xs) {
    if (seen(x))
      continue;
    queue_.push_back(x);
    if (from_cache)
      ++cached_;
  }
}

void bootstrap_plan::add_fallbacks(const std::vector<endpoint>& xs) {
  for (auto& x : xs)
    if (std::find(fallbacks_.begin(), fallbacks_.end(), x) == fallbacks_.end())
      fallbacks_.push_back(x);
}

std::vector<endpoint> bootstrap_plan::next_dials(clock::time_point now) {
  std::vector<endpoint> result;
  if (connected_.size() >= target_)
    return result;
  // Fallback contacts once the cache and discoveries are used up.
  if (queue_.empty() && in_flight_.empty() && !fallbacks_.empty()) {
    std::vector<candidate> xs;
    for (auto& ep : fallbacks_)
      xs.push_back(candidate{ep, {}});
    fallbacks_.clear();
    add(xs);
  }
  while (!queue_.empty() && in_flight_.size() < parallel_
         && connected_.size() + in_flight_.size() < target_ + parallel_) {
    auto x = queue_.front();
    queue_.pop_front();
    if (!x.peer.empty() && connected_.count(x.peer) > 0)
      continue;
    tried_.insert(x.remote);
    in_flight_.emplace(x.remote, std::make_pair(now, x.peer));
    result.push_back(x.remote);
  }
  return result;
}

void bootstrap_plan::on_up(const peer_id& peer, const endpoint& remote) {
  connected_.insert(peer);
  in_flight_.erase(remote);
  // Other attempts at the same peer are moot now.
  for (auto i = in_flight_.begin(); i != in_flight_.end();)
    i = i->second.second == peer ? in_flight_.erase(i) : std::next(i);
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [&](const candidate& x) { return x.peer == peer; }),
               queue_.end());
}

void bootstrap_plan::on_down(const peer_id& peer) {
  connected_.erase(peer);
}

void bootstrap_plan::on_failed(const endpoint& remote) {
  in_flight_.erase(remote);
}

void bootstrap_plan::on_timeout(clock::time_point now) {
  for (auto i = in_flight_.begin(); i != in_flight_.end();) {
    if (now - i->second.first >= attempt_timeout_)
      i = in_flight_.erase(i);
    else
      ++i;
  }
}

bootstrap_state bootstrap_plan::state() const {
  if (connected_.size() >= target_)
    return bootstrap_state::done;
  if (!in_flight_.empty() || !queue_.empty() || !fallbacks_.empty())
    return bootstrap_state::running;
  return connected_.empty() ? bootstrap_state::failed : bootstrap_state::exhausted;
}

bootstrap_status bootstrap_plan::status() const {
  bootstrap_status x;
  x.state = state();
  x.connected = static_cast<uint32_t>(connected_.size());
  x.tried = static_cast<uint32_t>(tried_.size());
  x.remaining = static_cast<uint32_t>(queue_.size() + fallbacks_.size());
  x.cached = cached_;
  return x;
}

} // namespace crust
