#pragma once

#include "messages/bytes.hpp"
#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <vector>

namespace crust {

/// Where a peer says it can be reached, signed by that peer's identity key:
/// nobody else can issue or alter it. A newer `seq` supersedes an older one;
/// after `expires` (Unix seconds) it is forgotten. Beacons and gossip carry
/// it; discovery/peer_record_codec.hpp has the wire format and the checks.
struct peer_record {
  peer_id peer;  ///< whom the record describes (and who signed it)
  std::vector<endpoint> endpoints;  ///< where it can be reached (1 to 8)
  uint64_t seq = 0;      ///< issuer's clock in milliseconds when signed
  uint64_t expires = 0;  ///< Unix seconds
  bytes signature;       ///< Ed25519, 64 bytes
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_record& x) {
  return f(caf::meta::type_name("peer_record"), x.peer, x.endpoints, x.seq, x.expires,
           x.signature);
}

} // namespace crust
