#pragma once

// What to do for a traversal, given both sides' connection info: where to
// send punch datagrams, and which endpoints to dial with which path label.
// Pure functions, no I/O.

#include "messages/connection_info.hpp"
#include "messages/path_kind.hpp"

#include <optional>
#include <vector>

namespace crust {

struct punch_plan {
  struct dial {
    endpoint remote;
    path_kind path = path_kind::punched_udp;
  };
  std::vector<endpoint> punch; ///< UDP endpoints to punch towards
  std::vector<dial> dials;     ///< what to dial, best first
};

/// Both sides run the same plan against each other's info: each punches
/// towards every UDP endpoint of the other and dials them; a public peer's
/// TCP endpoints are dialled directly too. Between two NATed peers whose
/// NATs map per source (cone) and keep ports, each also dials the other's
/// predicted TCP mapping from its own listening port (TCP simultaneous
/// open, `punched_tcp`), in parallel with the UDP punch. Duplicates the
/// two sides create are settled by the node's duplicate-connection rule.
punch_plan plan_traversal(const connection_info& ours, const connection_info& theirs);

/// Where a peer's NAT maps its TCP listening port, as far as its info
/// tells: its external UDP address with its listening port, when its NAT
/// is endpoint-independent and kept the UDP port (an external UDP endpoint
/// whose port is a local UDP port's). A NAT that keeps ports for UDP does
/// for TCP too (Linux masquerade, most home routers); the dial proves it.
std::optional<endpoint> predicted_tcp_mapping(const connection_info& x);

/// True when no hole can be punched: one side maps per destination
/// (symmetric) and the other is behind a NAT too. Our routers (and most
/// home routers) filter by address and port, so the symmetric side's new
/// mapping is never the one the other side punched towards. A relay is
/// the way then — unless either side has a port its gateway forwards (UPnP).
bool punching_hopeless(const connection_info& ours, const connection_info& theirs);

} // namespace crust
