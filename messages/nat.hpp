#pragma once

// NAT traversal's vocabulary: what a node knows of its NAT, the connection
// info two peers exchange before punching, the routing layer's commands for
// it, and the messages between the NAT actor and the node's UDP socket.

#include "messages/bytes.hpp"
#include "messages/connection_info.hpp"
#include "messages/ec.hpp"
#include "messages/endpoint.hpp"
#include "messages/path_kind.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace crust {

/// The node's view of its NAT, as the `nat_atom` request answers.
struct nat_status {
  nat_class nat = nat_class::unknown;  ///< our NAT class, from STUN
  std::vector<endpoint> external; ///< mapped endpoints (STUN, UPnP) of our sockets
  std::vector<endpoint> stun_servers_answered;  ///< the STUN servers that answered
  /// The address at least two connected peers say they see us at (empty:
  /// no agreement yet).
  std::string observed_address;
  std::string upnp;               ///< "off", "pending", "mapped" or why not
  std::vector<endpoint> upnp_mapped; ///< external endpoints the gateway forwards to us
  uint64_t punches_sent = 0;  ///< punch packets sent
  uint64_t traversals_started = 0;  ///< traversals started
  uint64_t traversals_succeeded = 0;  ///< traversals that connected
  uint64_t traversals_failed = 0;  ///< traversals given up
  uint64_t introductions_served = 0; ///< rendezvous requests we carried for others
  uint64_t relayed_circuits = 0;     ///< circuits we relayed for others (lifetime)
  uint64_t relayed_bytes = 0;  ///< bytes relayed for others
  /// Reachability checks (dial-backs by connected peers): our endpoints a
  /// peer reached from outside, and those peers tried and could not reach.
  std::vector<endpoint> reachable;
  std::vector<endpoint> unreachable;  ///< our advertised endpoints reachability checks found unreachable
  uint64_t probes_served = 0; ///< dial-backs we made for peers' checks
  /// Relayed links we tried to move to a direct path (PROTOCOL.md §9.6),
  /// and how many moved.
  uint64_t upgrades_tried = 0;
  uint64_t upgrades_succeeded = 0;  ///< relayed links that moved to a path of their own
  uint64_t relay_circuits_open = 0; ///< circuits we relay now
  /// Birthday probing (NAT-TRAVERSAL.md "Hard NATs"): probes we sent as the
  /// easy side.
  uint64_t birthday_probes = 0;
  uint64_t birthday_sockets = 0;   ///< sockets we held as the hard side
  uint64_t birthday_attempts = 0;  ///< upgrades that probed or held sockets
  uint64_t birthday_succeeded = 0; ///< ... and ended in a direct link
};

// -- commands from the routing layer ------------------------------------------

/// Reach `peer` through `through`, a peer both are connected to: it carries
/// our connection info to `peer` and theirs back (rendezvous), then both
/// sides punch holes and dial; the relay is the last resort. Success is a
/// `connection_up` (its `path` says how), failure a `traversal_failed`.
struct connect_via {
  peer_id peer;  ///< the peer to reach
  peer_id through;  ///< a connected peer both know (rendezvous, relay)
};

/// Ask for our connection info; the answer is `connection_info_prepared`
/// with the same token. Hand it to the peer over any channel you have.
struct prepare_connection_info {
  uint64_t token = 0;  ///< echoed in the answer
};

/// Both sides' info (exchanged out of band): punch and dial. Both peers
/// issue it. Success is a `connection_up`, failure a `traversal_failed`.
struct connect_with_info {
  connection_info ours;  ///< our info, from `prepare_connection_info`
  connection_info theirs;  ///< the peer's info, exchanged out of band
};

// -- events to the routing layer ------------------------------------------------

/// The answer to `prepare_connection_info`: our info, for the peer.
struct connection_info_prepared {
  uint64_t token = 0;  ///< the request's token
  connection_info info;  ///< our info, to hand to the peer out of band
};

/// Every way to reach `peer` (direct, punched, relayed) failed or timed out.
struct traversal_failed {
  peer_id peer;  ///< the peer we tried to reach
  ec reason = ec::none;  ///< why it failed
  std::string detail;  ///< what was tried
};

// -- between the NAT actor and the node ---------------------------------------

/// A datagram on the node's UDP socket that is not reliable UDP's (STUN,
/// punches): from the socket to the NAT actor, or from it to the socket.
struct raw_datagram {
  endpoint remote;  ///< the other end
  bytes data;  ///< the datagram
};

/// The NAT actor asks the node to dial `remote` as part of a traversal: a
/// link that authenticates as someone other than `expected` is closed, a
/// failure is not reported to the routing layer (the traversal reports), and
/// `connection_up` carries `path`.
struct traversal_dial {
  endpoint remote;  ///< where to dial
  peer_id expected;  ///< who must answer there (else the link is closed)
  path_kind path = path_kind::punched_udp;  ///< the path to report in `connection_up`
};

/// The NAT actor asks the node to reach `target` through a circuit on the
/// relay `through` (a connected peer that agreed to relay); the Noise
/// session runs end to end inside it.
struct relay_dial {
  peer_id through;  ///< the relay
  peer_id target;  ///< the peer to reach through it
};

/// The node tells the NAT actor that the relay `through` refused or ended a
/// circuit to `target` before it opened (the relay's limits, the target
/// refused it, the relay's link went): the traversal learns it at once,
/// with the reason, instead of waiting out its time limit.
struct relay_refused {
  peer_id through;  ///< the relay
  peer_id target;  ///< the peer we wanted to reach through it
  ec reason = ec::none;  ///< the relay's reason (e.g. too_many_connections)
};

/// The NAT actor asks the node to dial `target` as a reachability probe for
/// a peer's check: a handshake (announcing feature_probe) that must meet
/// `expected`, closed as soon as it is done; never a link, never reported
/// to the routing layer. The answer is a `reach_probe_done` with `id`.
struct reach_probe {
  uint64_t id = 0;  ///< the check's id
  endpoint target;  ///< where to dial
  peer_id expected;  ///< who must answer there
};

/// A probe's outcome: `reached` when the handshake met the expected peer.
struct reach_probe_done {
  uint64_t id = 0;  ///< the check's id
  bool reached = false;  ///< whether the expected peer answered
  ec reason = ec::none;  ///< why not
};

/// What reachability checks found unreachable of our endpoints (all of
/// them, each time it changes): from the NAT actor through the node to
/// discovery, whose signed record then leaves them out.
struct reachability_changed {
  std::vector<endpoint> unreachable;  ///< our endpoints found unreachable
};

/// Birthday probing's hard side: open `count` more sockets of their own
/// (any port), and send `payload` (a STUN Binding request) from each to
/// `target`, the peer's mapping; each opens a mapping on our NAT. The first
/// datagram from `target`'s address on one of them is the peer's probe
/// landing there: the node then dials `target` as a traversal from that
/// socket (`punched_udp`, expecting `peer`) and closes the others.
struct hold_sockets {
  peer_id peer;  ///< the peer we try to reach
  endpoint target;  ///< its mapping (UDP)
  uint32_t count = 0;  ///< sockets to add to the attempt
  bytes payload;  ///< what each sends to `target` once
};

/// The attempt is over: close the sockets `hold_sockets` opened for `peer`
/// (all but one a link runs on).
struct release_sockets {
  peer_id peer;  ///< whose sockets
};

/// An inbound link from `peer` in the next while is the result of our
/// punching: label it `path`.
struct traversal_expect {
  peer_id peer;  ///< the peer expected to dial in
  path_kind path = path_kind::punched_udp;  ///< the path to report for it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nat_status& x) {
  return f(caf::meta::type_name("nat_status"), x.nat, x.external, x.stun_servers_answered,
           x.observed_address, x.upnp, x.upnp_mapped, x.punches_sent, x.traversals_started, x.traversals_succeeded, x.traversals_failed,
           x.introductions_served, x.relayed_circuits, x.relayed_bytes, x.reachable,
           x.unreachable, x.probes_served, x.upgrades_tried, x.upgrades_succeeded,
           x.relay_circuits_open, x.birthday_probes, x.birthday_sockets, x.birthday_attempts,
           x.birthday_succeeded);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hold_sockets& x) {
  return f(caf::meta::type_name("hold_sockets"), x.peer, x.target, x.count, x.payload);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_sockets& x) {
  return f(caf::meta::type_name("release_sockets"), x.peer);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reach_probe& x) {
  return f(caf::meta::type_name("reach_probe"), x.id, x.target, x.expected);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reachability_changed& x) {
  return f(caf::meta::type_name("reachability_changed"), x.unreachable);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reach_probe_done& x) {
  return f(caf::meta::type_name("reach_probe_done"), x.id, x.reached, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connect_via& x) {
  return f(caf::meta::type_name("connect_via"), x.peer, x.through);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prepare_connection_info& x) {
  return f(caf::meta::type_name("prepare_connection_info"), x.token);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connect_with_info& x) {
  return f(caf::meta::type_name("connect_with_info"), x.ours, x.theirs);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_info_prepared& x) {
  return f(caf::meta::type_name("connection_info_prepared"), x.token, x.info);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, traversal_failed& x) {
  return f(caf::meta::type_name("traversal_failed"), x.peer, x.reason, x.detail);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raw_datagram& x) {
  return f(caf::meta::type_name("raw_datagram"), x.remote, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, traversal_dial& x) {
  return f(caf::meta::type_name("traversal_dial"), x.remote, x.expected, x.path);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relay_dial& x) {
  return f(caf::meta::type_name("relay_dial"), x.through, x.target);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relay_refused& x) {
  return f(caf::meta::type_name("relay_refused"), x.through, x.target, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, traversal_expect& x) {
  return f(caf::meta::type_name("traversal_expect"), x.peer, x.path);
}

} // namespace crust
