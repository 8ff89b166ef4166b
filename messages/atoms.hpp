#pragma once

#include <caf/atom.hpp>

namespace crust {

/// Asks the node for `std::vector<peer_info>`: every live connection.
using peers_atom = caf::atom_constant<caf::atom("peers")>;

/// Asks the node for its `node_info`.
using info_atom = caf::atom_constant<caf::atom("info")>;

/// Asks the node for its `node_stats`: counters and every live connection.
using stats_atom = caf::atom_constant<caf::atom("stats")>;

/// Asks the bootstrap store (or a node) for its bootstrap list.
using bootstrap_list_atom = caf::atom_constant<caf::atom("bslist")>;

/// Asks whether a peer is connected (answers bool).
using is_connected_atom = caf::atom_constant<caf::atom("isconn")>;

/// Asks for the remote endpoint of a connected peer.
using peer_address_atom = caf::atom_constant<caf::atom("peeraddr")>;

/// Starts listening (again) on the configured port.
using start_listening_atom = caf::atom_constant<caf::atom("listen")>;

/// Stops accepting new connections; live ones stay.
using stop_listening_atom = caf::atom_constant<caf::atom("unlisten")>;

/// Closes every connection gracefully and stops the node.
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;

/// Asks the node for its `nat_status`.
using nat_atom = caf::atom_constant<caf::atom("nat")>;

/// Bootstrapping runs by default whenever the node has fewer connections
/// than its target. The routing layer may stop it (nothing more is dialled
/// on its own; attempts under way finish) and start it again (a round at
/// once, the backoff reset).
using start_bootstrap_atom = caf::atom_constant<caf::atom("bsstart")>;
using stop_bootstrap_atom = caf::atom_constant<caf::atom("bsstop")>;

} // namespace crust
