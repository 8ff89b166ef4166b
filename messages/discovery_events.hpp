#pragma once

// Events discovery sends to the routing layer.

#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace crust {

/// How a peer was discovered.
enum class discovery_source : uint8_t { beacon = 0, gossip = 1, bootstrap_list = 2 };

inline std::string to_string(discovery_source x) {
  switch (x) {
    case discovery_source::beacon: return "beacon";
    case discovery_source::gossip: return "gossip";
    case discovery_source::bootstrap_list: return "bootstrap_list";
  }
  return "unknown";
}

/// A peer we are not connected to can be reached at these endpoints (its
/// signed record, or for bootstrap lists an unsigned hint). The routing layer
/// decides whether to `connect`; while bootstrapping, the node dials it itself.
struct peer_discovered {
  peer_id peer;  ///< the peer found
  std::vector<endpoint> endpoints;  ///< where it says it listens
  discovery_source source = discovery_source::gossip;  ///< how we heard of it
};

/// Where bootstrapping stands.
enum class bootstrap_state : uint8_t {
  running = 0, ///< dialling candidates
  done = 1,    ///< the target number of connections is reached
  exhausted = 2, ///< every candidate was tried; some connected, fewer than the target
  failed = 3,  ///< every candidate was tried and none connected
  stopped = 4, ///< the routing layer stopped bootstrapping
};

inline std::string to_string(bootstrap_state x) {
  switch (x) {
    case bootstrap_state::running: return "running";
    case bootstrap_state::done: return "done";
    case bootstrap_state::exhausted: return "exhausted";
    case bootstrap_state::failed: return "failed";
    case bootstrap_state::stopped: return "stopped";
  }
  return "unknown";
}

/// Bootstrap progress: sent when a round starts, after each attempt while
/// it runs, and when it ends. A round that ends `exhausted` or `failed` is
/// followed by another after `retry_in_ms` (jittered exponential backoff):
/// below its target, a node never stops trying unless told to.
struct bootstrap_status {
  bootstrap_state state = bootstrap_state::running;  ///< where bootstrapping stands
  uint32_t connected = 0;  ///< connections now
  uint32_t tried = 0;      ///< dials made so far, all rounds
  uint32_t remaining = 0;  ///< candidates of this round not yet dialled
  uint32_t cached = 0;     ///< candidates that came from the cache file
  uint32_t round = 0;      ///< rounds started so far
  uint32_t retry_in_ms = 0; ///< after an exhausted or failed round: the next one's start
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_discovered& x) {
  return f(caf::meta::type_name("peer_discovered"), x.peer, x.endpoints, x.source);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bootstrap_status& x) {
  return f(caf::meta::type_name("bootstrap_status"), x.state, x.connected, x.tried, x.remaining,
           x.cached, x.round, x.retry_in_ms);
}

} // namespace crust
