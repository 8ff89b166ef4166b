#include "actors/alert_limiter.hpp"

namespace crust {

std::optional<alert> alert_limiter::offer(alert a, time_point now) {
  key k{a.kind, a.address, a.peer};
  auto i = entries_.find(k);
  if (i == entries_.end() && entries_.size() >= max_sources_) {
    // Pool under "many sources" for this kind.
    a.address.clear();
    a.peer = peer_id{};
    a.detail = "from many sources; latest: " + a.detail;
    k = key{a.kind, std::string{}, peer_id{}};
    i = entries_.find(k);
  }
  if (i == entries_.end()) {
    entries_.emplace(k, entry{now, alert{}, 0});
    return a;
  }
  auto& e = i->second;
  if (now - e.last_sent >= interval_) {
    a.count += e.held_count;
    e.held_count = 0;
    e.last_sent = now;
    return a;
  }
  e.held_count += a.count;
  e.held = std::move(a);
  return std::nullopt;
}

std::vector<alert> alert_limiter::flush(time_point now) {
  std::vector<alert> out;
  for (auto i = entries_.begin(); i != entries_.end();) {
    auto& e = i->second;
    if (now - e.last_sent < interval_) {
      ++i;
      continue;
    }
    if (e.held_count > 0) {
      e.held.count = e.held_count;
      out.push_back(std::move(e.held));
      e.held = alert{};
      e.held_count = 0;
      e.last_sent = now;
      ++i;
    } else {
      i = entries_.erase(i); // quiet for a whole interval
    }
  }
  return out;
}

bool alert_limiter::pending() const {
  for (auto& kv : entries_)
    if (kv.second.held_count > 0)
      return true;
  return false;
}

} // namespace crust
