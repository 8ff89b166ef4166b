#pragma once

#include "actors/admission.hpp"
#include "actors/alert_limiter.hpp"
#include "actors/blacklist.hpp"
#include "actors/connection_table.hpp"
#include "actors/delivery.hpp"
#include "actors/internal_messages.hpp"
#include "actors/relay_stream.hpp"
#include "actors/node_config.hpp"
#include "transport/identity.hpp"
#include "transport/io_runtime.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace crust {

/// The supervising manager: owns the connection table, spawns the acceptor
/// and the connection actors, and talks to the routing layer. It never
/// decides on its own which connections to keep: only failures, blacklists
/// and the one-connection-per-peer rule close a connection.
struct manager_state {
  // Declared first, destroyed last: every socket lives on the runtime's loop.
  std::shared_ptr<io_runtime> runtime;
  node_config cfg;
  std::shared_ptr<const identity> id;
  /// Our Noise static key and its signature, made once for all sessions.
  std::shared_ptr<const static_credential> credential;
  routing_actor routing;
  delivery routing_delivery = delivery::each; ///< how links hand messages to it
  acceptor_actor acceptor;
  std::vector<endpoint> listening;
  connection_table table;
  address_blacklist blacklist;
  /// Inbound admission before any cryptography (limits, whitelist).
  admission_control admission;
  /// Alerts to the routing layer, at most one per kind and source per interval.
  alert_limiter alerts{std::chrono::milliseconds(1000)};
  bool alert_flush_armed = false;

  /// Every live connection actor and the address it talks to.
  struct live_connection {
    connection_actor handle;
    endpoint remote;
    std::optional<peer_id> peer;     ///< once authenticated
    std::optional<endpoint> dial;    ///< outbound: the dial it serves
    /// A relayed link: its circuit (relay peer, id), who must answer (when
    /// we opened it).
    std::optional<std::pair<peer_id, uint64_t>> circuit;
    std::optional<peer_id> expected;
    /// A traversal's link on a socket of its own (birthday probing): how
    /// it is labelled.
    std::optional<path_kind> own_path = std::nullopt;
    /// An inbound link counted by `admission` as a handshake under way.
    bool half_open = false;
    /// Closed as a duplicate of its peer's active link, and still delivering
    /// what the peer sent on it (the active link waits: `gate_atom`).
    bool draining_twin = false;
    /// Outbound: another attempt won the dial it served (`race_lost_atom`).
    /// Closing unauthenticated, it is no failed dial.
    bool race_lost = false;
  };
  std::unordered_map<caf::actor_id, live_connection> connections;
  /// Reachability probes we dial for peers' checks: connection -> probe id.
  std::unordered_map<caf::actor_id, uint64_t> probes;
  /// Probe connections (ours done, or a peer's that reached us), closing:
  /// never links.
  std::unordered_set<caf::actor_id> probes_closing;
  /// A connection's own UDP socket (a probe's, or a birthday-probing
  /// link's), until the connection ends.
  std::unordered_map<caf::actor_id, std::shared_ptr<datagram_socket>> own_sockets;

  /// Birthday probing's hard side (`hold_sockets`): per peer, the sockets
  /// that opened mappings towards its mapping, until one hears from it.
  struct held_route {
    std::mutex mtx;
    caf::weak_actor_ptr conn; ///< where datagrams go once a link runs on the socket
    std::atomic<bool> reported{false}; ///< the hit went to the manager
  };
  struct held_socket {
    std::shared_ptr<datagram_socket> socket;
    std::shared_ptr<held_route> route; ///< shared with the socket's thread
  };
  struct held_set {
    endpoint target;
    std::vector<held_socket> sockets;
  };
  std::map<peer_id, held_set> birthday_held;
  size_t held_total = 0;             ///< sockets in `held`
  static constexpr size_t max_held = 1024; ///< at once, every peer together

  /// An outbound dial: the endpoint the routing layer (or a re-dial) asked
  /// for, and the attempts racing for it (TCP, then reliable UDP).
  struct dial_attempt {
    std::optional<peer_id> redial_of;
    bool tcp_live = false;
    bool udp_live = false;
    bool udp_tried = false;
    std::optional<ec> first_failure; ///< reported when every attempt failed
    uint32_t retry_after_ms = 0;     ///< the longest a refusing peer asked us to wait
    /// A traversal's dial (nat/): who must answer, how the link is
    /// labelled, and failures go to the puncher's own timeout, not the
    /// routing layer.
    std::optional<peer_id> expected;
    path_kind path = path_kind::direct;
    /// Tells this dial from earlier ones to the same endpoint (their
    /// fallback timers may still be due).
    uint64_t id = 0;
  };
  std::map<endpoint, dial_attempt> dialing;
  uint64_t next_dial_id = 1;

  // Reliable UDP: the node's socket and its router (null when off).
  std::shared_ptr<datagram_socket> udp_socket;
  udp_mux_actor mux;
  std::optional<endpoint> udp_local;

  /// Sends held for peers whose replacement link is awaited, and their bytes.
  std::unordered_map<peer_id, std::vector<send>> held;
  /// Duplicate links of a peer still draining. Meanwhile the active link's
  /// delivery is gated and our sends to the peer are held, so that messages
  /// sent on the old link are delivered before those sent on the new one,
  /// at both ends.
  std::unordered_map<peer_id, size_t> twins;
  size_t held_bytes = 0;
  /// Sends routed to `batch_to` and not handed to it yet. While more
  /// messages wait in the mailbox, sends to one link gather here and go as
  /// one `send_batch`; every other message to a link goes after them.
  connection_actor batch_to;
  std::vector<send> batch;
  size_t batch_bytes = 0;
  bool batch_flush_pending = false; ///< a send_flush_atom is on its way
  bool shutting_down = false;

  logger_ptr log;

  // Discovery (discovery/): linked helpers, told what happens to links.
  bootstrap_store_actor store;
  gossip_actor gossiper;   ///< null when gossip is off
  beacon_actor beacon;     ///< null when the beacon is off
  /// The puncher's last word on our unreachable endpoints: a gossip actor
  /// restarted by a reload hears it again.
  std::optional<reachability_changed> last_reachability;
  // NAT traversal (nat/): STUN, rendezvous, punching.
  nat_actor puncher;       ///< null when NAT traversal is off
  /// Inbound links expected from a traversal: how to label them, until when.
  std::map<peer_id, std::pair<path_kind, std::chrono::steady_clock::time_point>> expected;
  /// Our ends of relay circuits, by (relay peer, circuit id).
  std::map<std::pair<peer_id, uint64_t>, std::shared_ptr<relay_stream>> circuits;
  /// Circuits we asked a relay for that it has not opened yet: the peer
  /// each should reach (a refusal goes to the puncher at once).
  std::map<std::pair<peer_id, uint64_t>, peer_id> circuits_opening;
  /// Node-level counters; per-link figures of closed links are added here.
  node_stats counters;

  explicit manager_state(caf::local_actor*) : table(peer_id{}) {
  }

  static inline const char* name = "crust.manager";
};

using manager_pointer = manager_actor::stateful_pointer<manager_state>;

/// The manager actor of one node.
manager_actor::behavior_type manager(manager_pointer self, std::shared_ptr<io_runtime> runtime,
                                     node_config cfg, std::shared_ptr<const identity> id,
                                     routing_actor routing, delivery mode);

} // namespace crust
