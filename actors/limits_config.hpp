#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace crust {

/// The node's DoS limits. Every one is enforced before memory or CPU grows:
/// inbound connections are counted and refused by address before any
/// cryptography, and a peer's input stops being read (its TCP window or
/// reliable-UDP flow-control window closes) when it is over its receive
/// budget. Defaults are safe for a node on the public internet.
struct limits_config {
  /// Links at once (authenticated or handshaking, both directions). Inbound
  /// ones beyond it are refused before the handshake; a `connect` beyond it
  /// fails with `too_many_connections`.
  size_t max_connections = 4096;
  /// Inbound handshakes under way at once, from all sources and from one
  /// address.
  size_t max_half_open = 256;
  size_t max_half_open_per_address = 8;  ///< inbound handshakes under way at once from one address
  /// Inbound connections one address may open: `connection_rate` per second
  /// on average, `connection_burst` at once (a token bucket). 0 = unlimited.
  double connection_rate = 10.0;
  size_t connection_burst = 20;  ///< inbound connections one address may open at once
  /// Addresses whose rate the node remembers; the least recently seen is
  /// forgotten first, so the table itself cannot be exhausted.
  size_t tracked_addresses = 4096;
  /// Message bytes per second one peer may have delivered to the routing
  /// layer (a token bucket with a one-second burst); 0 = unlimited.
  size_t receive_rate = 0;
  /// Message bytes of one peer delivered to the routing layer and not yet
  /// processed by it, before crust stops reading from that peer.
  size_t receive_queue = 8 * 1024 * 1024;
  /// Whitelist mode: when not empty, only addresses inside these
  /// ("203.0.113.7" or "198.51.100.0/24") may connect to us.
  std::vector<std::string> allow_only;
  /// Alerts of one kind about one address (or peer) go to the routing layer
  /// at most once per interval; the ones in between are counted into it.
  std::chrono::milliseconds alert_interval{1000};
};

} // namespace crust
