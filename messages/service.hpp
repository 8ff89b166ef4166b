#pragma once

// crust's own messages between nodes (bootstrap lists, gossip), carried on a
// connection beside the routing layer's messages but never shown to it.

#include "messages/bytes.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>

namespace crust {

/// Service ids (the channel byte of a service item).
enum class service_id : uint8_t {
  bootstrap_request = 1,  ///< "send me your bootstrap list" (empty body)
  bootstrap_response = 2, ///< a bounded list of endpoints
  gossip = 3,             ///< signed peer records
  rendezvous = 4,         ///< connection info carried between two of our peers
  relay = 5,              ///< relay circuits (open, data, close)
  reachability = 6,       ///< dial-back checks (check, result)
};

/// A service message from a connected peer.
struct service_in {
  peer_id peer;  ///< the peer it came from
  service_id service = service_id::gossip;  ///< which service
  bytes body;  ///< the service message
};

/// A service message for a connected peer.
struct service_out {
  peer_id peer;  ///< the peer to send it to
  service_id service = service_id::gossip;  ///< which service
  bytes body;  ///< the service message
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_in& x) {
  return f(caf::meta::type_name("service_in"), x.peer, x.service, x.body);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_out& x) {
  return f(caf::meta::type_name("service_out"), x.peer, x.service, x.body);
}

} // namespace crust
