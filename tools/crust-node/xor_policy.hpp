#pragma once

// A routing policy for crust-node, sans-I/O: keep the `keep` peers closest
// to us by XOR distance of peer ids (Kademlia's metric) plus `random` peers
// drawn at random (so the overlay stays one connected graph even when the
// closest peers cluster), as a real overlay would. Fed what the node
// reports; answers with the commands to send (maintain, connect, drop).
// crust itself never decides which connections to keep: this policy is
// crust-node's routing layer when started with `--routing=xor`.

#include "messages/direction.hpp"
#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace crust {

struct xor_policy_config {
  size_t keep = 8;    ///< closest peers maintained
  size_t random = 2;  ///< random peers maintained beside them
  /// A chosen peer that is not connected (and not maintained, which crust
  /// re-dials itself) is dialled at most this often.
  std::chrono::milliseconds redial{5000};
  size_t dials_per_settle = 4; ///< bounded dials per decision
  size_t max_known = 4096;     ///< peers remembered; the oldest learned go first
};

class xor_policy {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  struct action {
    enum class kind : uint8_t { maintain, connect, drop } what;
    peer_id peer;
    endpoint remote; ///< for `connect`
  };

  xor_policy(peer_id self, xor_policy_config cfg, uint64_t seed);

  /// A peer and where it listens (gossip, beacon, bootstrap list).
  void learned(const peer_id& peer, const std::vector<endpoint>& endpoints);
  void up(const peer_id& peer, direction dir, const endpoint& dialled);
  void down(const peer_id& peer);
  void blacklisted(const peer_id& peer);

  /// Chooses again and says what to do about it.
  std::vector<action> settle(time_point now);

  const std::set<peer_id>& chosen() const { return chosen_; }
  size_t connected() const { return connected_.size(); }
  bool is_connected(const peer_id& p) const { return connected_.count(p) > 0; }
  size_t known() const { return known_.size(); }

private:
  struct known_peer {
    std::vector<endpoint> endpoints;
    time_point last_dial{};
    uint64_t order = 0; ///< when first learned (for forgetting the oldest)
  };

  void remember(const peer_id& peer);

  peer_id self_;
  xor_policy_config cfg_;
  std::mt19937_64 rng_;
  uint64_t learned_count_ = 0;
  std::map<peer_id, known_peer> known_;
  std::map<peer_id, direction> connected_;
  std::set<peer_id> maintained_; ///< we told the node to maintain these
  std::set<peer_id> blacklisted_;
  std::set<peer_id> random_picks_;
  std::set<peer_id> chosen_;
  std::set<peer_id> dropping_; ///< dropped, not yet down: said once
};

/// XOR distance of two ids as a big-endian number: smaller is closer.
std::array<uint8_t, 32> xor_distance(const peer_id& a, const peer_id& b);

} // namespace crust
