#pragma once

#include "messages/discovery_events.hpp"
#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

namespace crust {

/// Bootstrapping, sans-I/O: which endpoint to dial next, and when.
///
/// Work goes in *rounds*. A round queues every known candidate — the cache
/// and peers discovered meanwhile first, the fallback contacts once those
/// are used up with fewer connections than the target — and dials at most
/// `parallel` at once, each given up after `attempt_timeout`. A round that
/// ends below the target is `exhausted` (some connected) or `failed` (none),
/// and the next one starts after a jittered exponential backoff
/// (`backoff_min` doubling up to `backoff_max`, each wait drawn from its
/// upper half). A connection lost below the target starts a round within
/// `backoff_min`, with the backoff reset. Bootstrapping never gives up on
/// its own; `stop` and `start` are the routing layer's.
///
/// A refusal that names a retry-after (docs/PROTOCOL.md §3.5) holds that
/// endpoint back until then (stretched by up to a half, so refused dialers
/// do not return in step); it stays in the round meanwhile.
class bootstrap_plan {
public:
  using clock = std::chrono::steady_clock;
  using duration = clock::duration;
  using time_point = clock::time_point;

  struct candidate {
    endpoint remote;
    peer_id peer; ///< all zero when unknown
  };

  struct config {
    size_t target = 4;
    size_t parallel = 4;
    duration attempt_timeout = std::chrono::seconds(10);
    duration backoff_min = std::chrono::seconds(1);
    duration backoff_max = std::chrono::seconds(30);
    /// Candidates remembered beyond the cache and the fallbacks (learned
    /// from gossip, beacons and bootstrap lists); the oldest go first.
    size_t max_discovered = 256;
  };

  bootstrap_plan(config cfg, time_point now, uint64_t seed);

  /// Candidates to remember; queued at once while a round runs (ignored
  /// when already queued, dialled this round or connected).
  void add(const std::vector<candidate>& xs, bool from_cache = false);
  void add_fallbacks(const std::vector<endpoint>& xs);

  /// Dials to start now (and marks them in flight); starts a round when
  /// one is due.
  std::vector<endpoint> next_dials(time_point now);

  void on_up(const peer_id& peer, const endpoint& remote, time_point now);
  void on_down(const peer_id& peer, time_point now);
  /// A dial failed; `retry_after` (zero: none) is the peer's word on when
  /// to come back.
  void on_failed(const endpoint& remote, time_point now, duration retry_after = {});
  /// Gives up attempts older than the timeout.
  void on_timeout(time_point now);

  /// The routing layer's switch. `stop` ends the round and dials nothing
  /// more (attempts under way finish); `start` runs a round now.
  void stop();
  void start(time_point now);
  bool stopped() const { return stopped_; }

  bootstrap_state state() const;
  bootstrap_status status(time_point now) const;
  size_t connected() const { return connected_.size(); }
  /// When the next round is due (meaningful while none runs).
  time_point next_round_at() const { return next_round_at_; }

private:
  struct known {
    peer_id peer;
    time_point not_before{};
  };

  bool queued_or_busy(const candidate& x) const;
  void enqueue(const candidate& x);
  void begin_round(time_point now);
  void end_round_if_over(time_point now);
  duration jittered(duration d, double low, double high);
  void forget_oldest_discovered();

  config cfg_;
  std::mt19937_64 rng_;
  std::map<endpoint, known> known_;
  std::deque<endpoint> cache_order_;      ///< cache candidates, as the cache lists them
  std::deque<endpoint> discovered_order_; ///< discovered candidates, oldest first
  std::map<endpoint, uint32_t> refusals_; ///< in a row, each with a retry-after
  std::vector<endpoint> fallbacks_;
  // The round under way.
  bool round_active_ = false;
  bool fallbacks_queued_ = false;
  std::deque<candidate> queue_;
  std::set<endpoint> dialled_; ///< this round
  std::map<endpoint, std::pair<time_point, peer_id>> in_flight_;
  // Between rounds.
  time_point next_round_at_{};
  uint32_t failed_rounds_ = 0; ///< in a row, for the backoff
  std::optional<bootstrap_state> last_outcome_;
  bool stopped_ = false;
  std::set<peer_id> connected_;
  uint32_t tried_ = 0;
  uint32_t rounds_ = 0;
  uint32_t cached_ = 0;
};

} // namespace crust
