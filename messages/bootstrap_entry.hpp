#pragma once

#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>

namespace crust {

/// One entry of the bootstrap cache.
struct bootstrap_entry {
  endpoint remote;  ///< where the peer was (or is said to be) reachable
  peer_id peer;              ///< all zero when unknown
  int64_t last_success = 0;  ///< Unix seconds of the last direct connection; 0: never
  bool direct = false;       ///< we connected to it ourselves (else: learned from a peer)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bootstrap_entry& x) {
  return f(caf::meta::type_name("bootstrap_entry"), x.remote, x.peer, x.last_success, x.direct);
}

} // namespace crust
