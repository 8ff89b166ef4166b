#pragma once

#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace crust {

/// What a node learned of the NAT in front of it.
enum class nat_class : uint8_t {
  unknown = 0,              ///< not (yet) known: no STUN server answered
  none = 1,                 ///< the address seen from outside is our own: no NAT
  endpoint_independent = 2, ///< one mapping for every destination ("cone"): punchable
  endpoint_dependent = 3,   ///< a new mapping per destination ("symmetric")
};

inline std::string to_string(nat_class x) {
  switch (x) {
    case nat_class::unknown: return "unknown";
    case nat_class::none: return "none";
    case nat_class::endpoint_independent: return "endpoint_independent";
    case nat_class::endpoint_dependent: return "endpoint_dependent";
  }
  return "unknown";
}

/// What a peer needs to reach us: our id, the endpoints we listen on here
/// (TCP and UDP), those seen from outside (STUN-mapped, router-mapped), and
/// our NAT class.
struct connection_info {
  peer_id peer;  ///< whose info this is
  std::vector<endpoint> local;  ///< its local (LAN) endpoints
  std::vector<endpoint> external;  ///< its external endpoints (STUN, UPnP)
  nat_class nat = nat_class::unknown;  ///< its NAT class
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_info& x) {
  return f(caf::meta::type_name("connection_info"), x.peer, x.local, x.external, x.nat);
}

} // namespace crust
