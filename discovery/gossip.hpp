#pragma once

#include "discovery/discovery_config.hpp"
#include "discovery/gossip_table.hpp"
#include "messages/interfaces.hpp"
#include "transport/identity.hpp"
#include "transport/logger.hpp"

#include <caf/atom.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>

namespace crust {

using gossip_tick_atom = caf::atom_constant<caf::atom("gtick")>;

using gossip_impl = gossip_actor::extend<caf::reacts_to<gossip_tick_atom>>;

struct gossip_state {
  using clock = std::chrono::steady_clock;

  /// A connected peer and how much it sent us lately.
  struct neighbour {
    bool node = true;            ///< a client never relays
    clock::time_point window_start;
    size_t records = 0;          ///< received in the current window
  };

  discovery_config cfg;
  std::string network;
  std::shared_ptr<const identity> id;
  discovery_host_actor host;
  bootstrap_store_actor store;
  routing_actor routing;
  logger_ptr log;
  std::optional<gossip_table> table;
  std::optional<peer_record> own;
  std::vector<endpoint> listening;   ///< our endpoints, as the node listens
  std::vector<endpoint> unreachable; ///< of those, what reachability checks could not reach
  std::map<peer_id, neighbour> neighbours;
  uint64_t rejected = 0;         ///< since the last alert
  clock::time_point last_alert;
  uint64_t rng = 0x9e3779b97f4a7c15ULL;

  explicit gossip_state(caf::local_actor*) {}
  static inline const char* name = "crust.gossip";
};

using gossip_pointer = gossip_impl::stateful_pointer<gossip_state>;

/// Gossip: tells each new neighbour our signed record and the newest ones we
/// know, re-announces ours periodically, and forwards records new to us to a
/// few neighbours (bounded fan-out, TTL, de-duplicated by sequence number,
/// rate-limited per neighbour). Peers learnt this way are reported as
/// `peer_discovered`.
gossip_impl::behavior_type gossip(gossip_pointer self, discovery_config cfg, std::string network,
                                  std::shared_ptr<const identity> id, discovery_host_actor host,
                                  bootstrap_store_actor store, routing_actor routing,
                                  logger_ptr log);

} // namespace crust
