#pragma once

// The typed actor interfaces between the routing layer and a node. A message
// the receiver does not handle is a compile error.

#include "messages/atoms.hpp"
#include "messages/bootstrap_entry.hpp"
#include "messages/commands.hpp"
#include "messages/discovery_events.hpp"
#include "messages/events.hpp"
#include "messages/nat.hpp"
#include "messages/service.hpp"
#include "messages/peer_info.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <vector>

namespace crust {

/// The routing layer: receives what happens to the node's connections.
/// Implement it (or spawn one that forwards) and hand it to `spawn_node`.
using routing_actor = caf::typed_actor<
  caf::reacts_to<connection_up>,
  caf::reacts_to<connection_down>,
  caf::reacts_to<path_changed>,
  caf::reacts_to<message>,
  caf::reacts_to<listening>,
  caf::reacts_to<alert>,
  caf::reacts_to<connect_failed>,
  caf::reacts_to<send_failed>,
  caf::reacts_to<peer_discovered>,
  caf::reacts_to<bootstrap_status>,
  caf::reacts_to<connection_info_prepared>,
  caf::reacts_to<traversal_failed>>;

/// A routing layer that takes each peer's messages in batches: hand one to
/// `spawn_batching_node` and the node delivers `message_batch`es instead of
/// `message`s (every other event as before). For a layer that receives many
/// small messages: one actor message per batch instead of one each. The
/// same actor handed to `spawn_node` gets `message`s.
using batch_routing_actor = routing_actor::extend<caf::reacts_to<message_batch>>;

/// A node: what the routing layer may ask of it.
using node_actor = caf::typed_actor<
  caf::reacts_to<connect>,
  caf::reacts_to<send>,
  caf::reacts_to<maintain>,
  caf::reacts_to<drop>,
  caf::reacts_to<blacklist>,
  caf::reacts_to<connect_via>,
  caf::reacts_to<prepare_connection_info>,
  caf::reacts_to<connect_with_info>,
  caf::reacts_to<start_listening_atom>,
  caf::reacts_to<stop_listening_atom>,
  caf::reacts_to<shutdown_atom>,
  caf::reacts_to<start_bootstrap_atom>,
  caf::reacts_to<stop_bootstrap_atom>,
  caf::replies_to<peers_atom>::with<std::vector<peer_info>>,
  caf::replies_to<info_atom>::with<node_info>,
  caf::replies_to<stats_atom>::with<node_stats>,
  caf::replies_to<bootstrap_list_atom>::with<std::vector<bootstrap_entry>>,
  caf::replies_to<nat_atom>::with<nat_status>,
  caf::replies_to<is_connected_atom, peer_id>::with<bool>,
  caf::replies_to<peer_address_atom, peer_id>::with<endpoint>,
  caf::replies_to<reconfigure>::with<std::vector<std::string>>>;

// -- discovery actors (discovery/), as the node's manager sees them ------------

/// The bootstrap store: the cache file, bootstrapping, serving our list.
using bootstrap_store_actor = caf::typed_actor<
  caf::reacts_to<connection_up>,
  caf::reacts_to<connection_down>,
  caf::reacts_to<connect_failed>,
  caf::reacts_to<service_in>,
  caf::reacts_to<peer_discovered>,
  caf::reacts_to<start_bootstrap_atom>,
  caf::reacts_to<stop_bootstrap_atom>,
  caf::replies_to<bootstrap_list_atom>::with<std::vector<bootstrap_entry>>>;

/// The LAN beacon: announces our listening endpoints, hears others'.
using beacon_actor = caf::typed_actor<caf::reacts_to<listening>>;

/// Gossip: exchanges signed peer records with connected peers.
using gossip_actor = caf::typed_actor<
  caf::reacts_to<connection_up>,
  caf::reacts_to<connection_down>,
  caf::reacts_to<service_in>,
  caf::reacts_to<listening>,
  caf::reacts_to<reachability_changed>>;

/// What discovery may ask of the node: dial, and talk to connected peers.
using discovery_host_actor = caf::typed_actor<
  caf::reacts_to<connect>,
  caf::reacts_to<service_out>>;

// -- NAT traversal (nat/), as the node's manager sees it ------------------------

/// The NAT actor: STUN, rendezvous, punching, relay circuits.
using nat_actor = caf::typed_actor<
  caf::reacts_to<listening>,
  caf::reacts_to<connection_up>,
  caf::reacts_to<connection_down>,
  caf::reacts_to<service_in>,
  caf::reacts_to<raw_datagram>,
  caf::reacts_to<connect_via>,
  caf::reacts_to<prepare_connection_info>,
  caf::reacts_to<connect_with_info>,
  caf::reacts_to<reach_probe_done>,
  caf::reacts_to<relay_refused>,
  caf::replies_to<nat_atom>::with<nat_status>>;

/// What the NAT actor may ask of the node: dial for a traversal, label an
/// expected inbound link, talk to connected peers, send raw datagrams on the
/// node's UDP socket.
using nat_host_actor = caf::typed_actor<
  caf::reacts_to<traversal_dial>,
  caf::reacts_to<relay_dial>,
  caf::reacts_to<traversal_expect>,
  caf::reacts_to<reach_probe>,
  caf::reacts_to<hold_sockets>,
  caf::reacts_to<release_sockets>,
  caf::reacts_to<reachability_changed>,
  caf::reacts_to<service_out>,
  caf::reacts_to<raw_datagram>>;

} // namespace crust
