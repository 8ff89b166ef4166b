#pragma once

#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <vector>

namespace crust {

/// What a node tells others so they can reach it: its id and the endpoints
/// it listens on. (NAT traversal adds mapped and external endpoints.)
struct connection_info {
  peer_id peer;
  std::vector<endpoint> endpoints;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_info& x) {
  return f(caf::meta::type_name("connection_info"), x.peer, x.endpoints);
}

} // namespace crust
