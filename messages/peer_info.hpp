#pragma once

#include "messages/direction.hpp"
#include "messages/endpoint.hpp"
#include "messages/node_role.hpp"
#include "messages/path_kind.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace crust {

/// One live connection, as the `peers` request reports it.
struct peer_info {
  peer_id peer;  ///< the peer
  endpoint remote;  ///< the link's other end
  direction dir = direction::outbound;  ///< who dialled
  node_role role = node_role::node;  ///< the peer's role
  protocol transport = protocol::tcp;  ///< TCP or reliable UDP
  path_kind path = path_kind::direct;  ///< direct, punched or relayed
  bool maintained = false;         ///< the routing layer asked to keep it
  uint64_t messages_sent = 0;  ///< messages sent on this link
  uint64_t messages_received = 0;  ///< messages received on it
  uint64_t bytes_sent = 0;         ///< on the wire, framing and encryption included
  uint64_t bytes_received = 0;  ///< bytes received on it
  uint64_t rtt_us = 0;             ///< last keepalive round trip; 0 when unknown
  endpoint observed;               ///< where the peer sees us (port 0: it did not say)
  std::string cipher;              ///< transport frames': "chachapoly" or "aesgcm"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_info& x) {
  return f(caf::meta::type_name("peer_info"), x.peer, x.remote, x.dir, x.role, x.transport,
           x.path, x.maintained, x.messages_sent, x.messages_received, x.bytes_sent,
           x.bytes_received, x.rtt_us, x.observed, x.cipher);
}

/// The node itself, as the `info` request reports it.
struct node_info {
  peer_id id;  ///< our peer id
  node_role role = node_role::node;  ///< our role
  std::string network;  ///< our network name
  std::vector<endpoint> listening;  ///< where we listen
  uint64_t connections = 0;  ///< links now
  uint8_t protocol_version = 0;  ///< the wire protocol version we speak
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("node_info"), x.id, x.role, x.network, x.listening,
           x.connections, x.protocol_version);
}

/// Counters of a node since it started, and its live connections: what the
/// `stats` request reports.
struct node_stats {
  uint64_t connections = 0;           ///< peers connected now
  uint64_t inbound = 0;               ///< ... of which the peer dialled
  uint64_t outbound = 0;              ///< ... of which we dialled
  uint64_t dials = 0;                 ///< outbound attempts started
  uint64_t dials_failed = 0;          ///< ... that ended before authentication
  uint64_t accepted = 0;              ///< inbound sockets taken on
  uint64_t refused = 0;               ///< inbound sockets refused before any crypto
  uint64_t handshakes = 0;            ///< handshakes completed (either direction)
  uint64_t handshakes_failed = 0;     ///< inbound handshakes that failed
  uint64_t alerts = 0;                ///< alerts sent to the routing layer
  uint64_t connections_closed = 0;    ///< authenticated links that ended
  uint64_t messages_sent = 0;         ///< all links, closed ones included
  uint64_t messages_received = 0;  ///< messages received, all links
  uint64_t bytes_sent = 0;  ///< bytes sent, all links
  uint64_t bytes_received = 0;  ///< bytes received, all links
  uint64_t udp_retries = 0;           ///< stateless RETRYs sent (address checks)
  uint64_t udp_refused = 0;           ///< INITIALs refused (malformed, over the limit)
  uint64_t udp_half_open = 0;         ///< validated UDP handshakes being set up now
  uint64_t links = 0;                 ///< link actors now (handshaking ones included)
  uint64_t half_open = 0;             ///< inbound handshakes under way now
  uint64_t half_open_peak = 0;        ///< the most inbound handshakes ever under way at once
  /// Handshakes completed, by how long they took from the socket's start
  /// (connected or accepted) to authentication: counts per bucket, each
  /// bucket up to `handshake_bucket_bounds_us` (and one more above the
  /// last), not cumulative; empty before the first.
  std::vector<uint64_t> handshake_buckets;
  uint64_t handshake_sum_us = 0;      ///< the durations' sum (microseconds)
  std::vector<peer_info> peers;       ///< one per connected peer
};

/// The upper bounds (microseconds) of `node_stats::handshake_buckets`.
constexpr uint64_t handshake_bucket_bounds_us[] = {500,     1000,    2500,    5000,   10000,
                                                   25000,   50000,   100000,  250000, 500000,
                                                   1000000, 2500000, 5000000};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_stats& x) {
  return f(caf::meta::type_name("node_stats"), x.connections, x.inbound, x.outbound, x.dials,
           x.dials_failed, x.accepted, x.refused, x.handshakes, x.handshakes_failed, x.alerts,
           x.connections_closed, x.messages_sent, x.messages_received, x.bytes_sent,
           x.bytes_received, x.udp_retries, x.udp_refused, x.udp_half_open, x.links,
           x.half_open, x.half_open_peak, x.handshake_buckets, x.handshake_sum_us, x.peers);
}

} // namespace crust
