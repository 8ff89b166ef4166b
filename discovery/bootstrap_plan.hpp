#pragma once

#include "messages/discovery_events.hpp"
#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <vector>

namespace crust {

/// Bootstrapping, sans-I/O: which endpoint to dial next. Candidates from the
/// cache (and peers discovered meanwhile) come first; fallback contacts only
/// once those are used up with fewer connections than the target. At most
/// `parallel` dials run at once, each given up after `attempt_timeout`. It
/// stops dialling once `target` peers are connected.
class bootstrap_plan {
public:
  using clock = std::chrono::steady_clock;

  struct candidate {
    endpoint remote;
    peer_id peer; ///< all zero when unknown
  };

  bootstrap_plan(size_t target, size_t parallel, clock::duration attempt_timeout);

  /// Candidates to try (ignored when already queued, dialled or connected).
  void add(const std::vector<candidate>& xs, bool from_cache = false);
  void add_fallbacks(const std::vector<endpoint>& xs);

  /// Dials to start now (and marks them in flight).
  std::vector<endpoint> next_dials(clock::time_point now);

  void on_up(const peer_id& peer, const endpoint& remote);
  void on_down(const peer_id& peer);
  void on_failed(const endpoint& remote);
  /// Gives up attempts older than the timeout.
  void on_timeout(clock::time_point now);

  bootstrap_state state() const;
  bootstrap_status status() const;
  size_t connected() const { return connected_.size(); }

private:
  bool seen(const candidate& x) const;

  size_t target_;
  size_t parallel_;
  clock::duration attempt_timeout_;
  std::deque<candidate> queue_;
  std::vector<endpoint> fallbacks_;
  std::map<endpoint, std::pair<clock::time_point, peer_id>> in_flight_;
  std::set<endpoint> tried_;
  std::set<peer_id> connected_;
  uint32_t cached_ = 0;
};

} // namespace crust
