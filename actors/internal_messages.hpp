#pragma once

// The actor layer's own protocol: I/O events from the Asio adapters to the
// actors that own them, and the manager's conversation with its acceptor and
// connections. Users of crust never see these; they use messages/.

#include "messages/bytes.hpp"
#include "messages/commands.hpp"
#include "messages/direction.hpp"
#include "messages/ec.hpp"
#include "messages/endpoint.hpp"
#include "messages/events.hpp"
#include "messages/interfaces.hpp"
#include "messages/node_role.hpp"
#include "messages/peer_id.hpp"
#include "messages/peer_info.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>
#include <string>

namespace crust {

class io_runtime;
class tcp_stream;
class datagram_socket;
namespace rudp {
struct initial_packet;
} // namespace rudp

using tick_atom = caf::atom_constant<caf::atom("tick")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using admit_atom = caf::atom_constant<caf::atom("admit")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
/// To an outbound attempt whose dial another attempt won (TCP or reliable
/// UDP): it closes while its handshake is under way; once done at our end
/// the peer may have admitted it, so it stays, to be settled as a duplicate
/// link the way both ends settle those (`connection_table::wins`).
using race_lost_atom = caf::atom_constant<caf::atom("racelost")>;
using redial_atom = caf::atom_constant<caf::atom("redial")>;
using grace_atom = caf::atom_constant<caf::atom("grace")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using udp_fallback_atom = caf::atom_constant<caf::atom("udpfb")>;
using alert_flush_atom = caf::atom_constant<caf::atom("alertflush")>;
using credit_atom = caf::atom_constant<caf::atom("credit")>;
/// The manager to itself: hand the sends it batched to their connection.
using send_flush_atom = caf::atom_constant<caf::atom("sendflush")>;
/// To a peer's active link: hold (true) or resume (false) delivery while a
/// duplicate link of the same peer still delivers what was sent on it.
using gate_atom = caf::atom_constant<caf::atom("gate")>;
/// To a link that reported `connection_closing`: nothing more is routed to
/// it, so it may answer the peer's CLOSE now.
using closing_ack_atom = caf::atom_constant<caf::atom("closingack")>;

// -- from an Asio adapter to its actor -----------------------------------------

struct stream_connected {};

struct stream_data {
  bytes chunk;
};

struct stream_written {
  uint64_t count = 0;
};

struct stream_ended {
  ec reason = ec::none;
  std::string what;
};

/// An accepted socket, from the listener to the acceptor and on to the
/// manager. Carries a pointer, so it never leaves the process.
struct incoming_stream {
  /// The loop the stream's socket and timer live on, kept alive as long as
  /// the stream: declared first, so destroyed last. (A stream accepted as
  /// the acceptor stopped waited in its mailbox, which CAF clears after the
  /// acceptor's state, the runtime's last owner, is gone: AddressSanitizer
  /// saw the stream's timer destroyed after its io_context.)
  std::shared_ptr<io_runtime> runtime;
  std::shared_ptr<tcp_stream> stream;
  endpoint remote;
};

/// A datagram for one reliable-UDP connection, from the node's UDP socket.
struct datagram_in {
  bytes data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, datagram_in& x) {
  return f(caf::meta::type_name("datagram_in"), x.data);
}

/// Sends the manager routed to one connection, in order: under a backlog of
/// sends it hands them over in batches, one message instead of one each.
struct send_batch {
  std::vector<send> sends;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, send_batch& x) {
  return f(caf::meta::type_name("send_batch"), x.sends);
}

/// Datagrams for one reliable-UDP connection, in arrival order.
struct datagram_batch {
  std::vector<bytes> data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, datagram_batch& x) {
  return f(caf::meta::type_name("datagram_batch"), x.data);
}

/// A datagram the node's UDP socket received (socket -> mux).
struct udp_datagram {
  bytes data;
  endpoint from;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, udp_datagram& x) {
  return f(caf::meta::type_name("udp_datagram"), x.data, x.from);
}

/// Datagrams the socket had waiting at once.
struct udp_batch {
  std::vector<udp_datagram> datagrams;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, udp_batch& x) {
  return f(caf::meta::type_name("udp_batch"), x.datagrams);
}

/// An INITIAL that passed address validation: the manager spawns a
/// responder for it. Carries a pointer, so it never leaves the process.
struct incoming_udp {
  std::shared_ptr<rudp::initial_packet> initial;
  endpoint remote;
};

/// Birthday probing: the socket `index` the node holds for `peer` heard
/// from the peer's address (its probe landed on that socket's mapping).
struct held_hit {
  peer_id peer;
  uint32_t index = 0;
  endpoint from;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, held_hit& x) {
  return f(caf::meta::type_name("held_hit"), x.peer, x.index, x.from);
}

/// The acceptor could not (or can no longer) listen.
struct listen_failed {
  std::string what;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_connected&) {
  return f(caf::meta::type_name("stream_connected"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_data& x) {
  return f(caf::meta::type_name("stream_data"), x.chunk);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_written& x) {
  return f(caf::meta::type_name("stream_written"), x.count);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_ended& x) {
  return f(caf::meta::type_name("stream_ended"), x.reason, x.what);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, listen_failed& x) {
  return f(caf::meta::type_name("listen_failed"), x.what);
}

// -- connection actor ----------------------------------------------------------

/// One per link: owns the socket and the session.
using connection_actor = caf::typed_actor<
  caf::reacts_to<send>,
  caf::reacts_to<send_batch>,
  caf::reacts_to<admit_atom>,
  caf::reacts_to<close_atom, ec>,
  caf::reacts_to<race_lost_atom>,
  caf::reacts_to<flush_atom>,
  caf::reacts_to<tick_atom>,
  caf::reacts_to<stream_connected>,
  caf::reacts_to<stream_data>,
  caf::reacts_to<stream_written>,
  caf::reacts_to<stream_ended>,
  caf::reacts_to<stop_atom>,
  caf::reacts_to<service_out>,
  caf::reacts_to<datagram_in>,
  caf::reacts_to<datagram_batch>,
  caf::reacts_to<credit_atom>,
  caf::reacts_to<gate_atom, bool>,
  caf::reacts_to<closing_ack_atom>,
  caf::replies_to<peers_atom>::with<peer_info>>;

/// A reliable-UDP connection announces (or withdraws) the connection ids
/// that reach it: its own, and for a responder the client's first dcid.
struct udp_route {
  uint64_t cid = 0;
  uint64_t initial_dcid = 0; ///< 0: none
  connection_actor conn;     ///< null: withdraw
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, udp_route& x) {
  return f(caf::meta::type_name("udp_route"), x.cid, x.initial_dcid, x.conn);
}

/// Owns the node's UDP socket and routes datagrams by connection id.
using udp_mux_actor = caf::typed_actor<
  caf::reacts_to<udp_batch>,
  caf::reacts_to<udp_route>,
  caf::reacts_to<raw_datagram>,
  /// (RETRYs sent, INITIALs refused, half-open set-ups)
  caf::replies_to<stats_atom>::with<uint64_t, uint64_t, uint64_t>>;

/// A connection finished its handshake; the manager answers with `admit` or
/// `close`.
struct handshake_done {
  peer_id peer;
  endpoint remote;
  direction dir = direction::outbound;
  node_role role = node_role::node;
  uint16_t listen_port = 0;  ///< the peer's advertised listening port
  bytes handshake_hash;      ///< the same on both ends: a shared tie-breaker
  connection_actor conn;
  protocol transport = protocol::tcp;
  endpoint observed{}; ///< where the peer sees us (port 0: it did not say)
  bool role_swapped = false; ///< dialled, but the handshake's responder (simultaneous open)
  bool probe = false; ///< inbound: the peer's dial-back for our reachability check
  uint64_t duration_us = 0; ///< from the socket's start to authentication
};

/// An admitted connection stopped accepting messages because the peer is
/// closing it: the manager stops routing to it now, before it is over.
struct connection_closing {
  connection_actor conn;
  peer_id peer;
  ec reason = ec::none;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_closing& x) {
  return f(caf::meta::type_name("connection_closing"), x.conn, x.peer, x.reason);
}

/// A connection is over. It lingers, handing late sends back, until the
/// manager answers `stop`: nothing routed to it in the meantime is lost.
struct connection_closed {
  connection_actor conn;
  peer_id peer;            ///< all zero if the handshake never finished
  bool authenticated = false;
  ec reason = ec::none;
  bool by_peer = false;
  endpoint remote;
  direction dir = direction::outbound;
  uint64_t messages_sent = 0;     ///< totals over the link's life
  uint64_t messages_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint32_t retry_after_ms = 0;    ///< refused before the handshake: the peer's retry-after
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, handshake_done& x) {
  return f(caf::meta::type_name("handshake_done"), x.peer, x.remote, x.dir, x.role,
           x.listen_port, x.handshake_hash, x.conn, x.transport);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_closed& x) {
  return f(caf::meta::type_name("connection_closed"), x.conn, x.peer, x.authenticated,
           x.reason, x.by_peer, x.remote, x.dir, x.messages_sent, x.messages_received,
           x.bytes_sent, x.bytes_received, x.retry_after_ms);
}

// -- acceptor and manager ------------------------------------------------------

/// Owns the listening socket.
using acceptor_actor = caf::typed_actor<caf::reacts_to<incoming_stream>>;

/// The manager: the public node interface plus what its helpers tell it.
using manager_actor = node_actor::extend<
  caf::reacts_to<incoming_stream>,
  caf::reacts_to<incoming_udp>,
  caf::reacts_to<udp_fallback_atom, endpoint, uint64_t>,
  caf::reacts_to<listening>,
  caf::reacts_to<listen_failed>,
  caf::reacts_to<handshake_done>,
  caf::reacts_to<connection_closing>,
  caf::reacts_to<connection_closed>,
  caf::reacts_to<service_in>,
  caf::reacts_to<service_out>,
  caf::reacts_to<traversal_dial>,
  caf::reacts_to<relay_dial>,
  caf::reacts_to<traversal_expect>,
  caf::reacts_to<reach_probe>,
  caf::reacts_to<hold_sockets>,
  caf::reacts_to<release_sockets>,
  caf::reacts_to<held_hit>,
  caf::reacts_to<reachability_changed>,
  caf::reacts_to<raw_datagram>,
  caf::reacts_to<redial_atom, peer_id>,
  caf::reacts_to<grace_atom, peer_id, uint64_t>,
  caf::reacts_to<alert_flush_atom>,
  caf::reacts_to<send_flush_atom>,
  caf::reacts_to<stop_atom>>;

} // namespace crust

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crust::incoming_stream)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crust::incoming_udp)
