#pragma once

#include "messages/direction.hpp"
#include "messages/endpoint.hpp"
#include "messages/node_role.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace crust {

/// One live connection, as the `peers` request reports it.
struct peer_info {
  peer_id peer;
  endpoint remote;
  direction dir = direction::outbound;
  node_role role = node_role::node;
  bool maintained = false;         ///< the routing layer asked to keep it
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t rtt_us = 0;             ///< last keepalive round trip; 0 when unknown
  endpoint observed;               ///< where the peer sees us (port 0: it did not say)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_info& x) {
  return f(caf::meta::type_name("peer_info"), x.peer, x.remote, x.dir, x.role, x.maintained,
           x.messages_sent, x.messages_received, x.rtt_us, x.observed);
}

/// The node itself, as the `info` request reports it.
struct node_info {
  peer_id id;
  node_role role = node_role::node;
  std::string network;
  std::vector<endpoint> listening;
  uint64_t connections = 0;
  uint8_t protocol_version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("node_info"), x.id, x.role, x.network, x.listening,
           x.connections, x.protocol_version);
}

} // namespace crust
