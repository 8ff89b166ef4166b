#pragma once

// Commands the routing layer sends to the node.

#include "messages/bytes.hpp"
#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

namespace crust {

/// Dial an endpoint. Success is a `connection_up`, failure a `connect_failed`.
struct connect {
  endpoint remote;  ///< where to dial (`tcp://` or `udp://`)
};

/// Send a message to a connected peer. Priority 0 is most urgent, 3 is bulk;
/// urgent messages overtake queued bulk ones. Failure is a `send_failed`.
struct send {
  peer_id peer;  ///< a connected peer
  bytes payload;  ///< the message (at most `max_message_size`)
  uint8_t priority = 2;  ///< 0 most urgent … 3 bulk
};

/// Keep the connection to this peer: re-dial it (with backoff) if it is lost.
struct maintain {
  peer_id peer;  ///< the peer to keep connected
};

/// Close the connection to this peer gracefully and stop maintaining it.
struct drop {
  peer_id peer;  ///< the peer to let go
};

/// What a blacklist entry matches.
enum class blacklist_kind : uint8_t { peer = 0, address = 1, subnet = 2 };

/// A peer id, an address, or a subnet (address and prefix length).
struct blacklist_entry {
  blacklist_kind kind = blacklist_kind::peer;  ///< what `peer`, `address` or `address`/`prefix_len` mean
  peer_id peer;  ///< with `kind` peer
  std::string address;  ///< with `kind` address or subnet: numeric IPv4 or IPv6
  uint8_t prefix_len = 0;  ///< with `kind` subnet: the prefix length
};

/// Refuse the entry's peers from now on and drop the matching live
/// connections at once: by address before any handshake, by peer id right
/// after it. Lasts for this session of the node.
struct blacklist {
  blacklist_entry entry;  ///< what to refuse
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connect& x) {
  return f(caf::meta::type_name("connect"), x.remote);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, send& x) {
  return f(caf::meta::type_name("send"), x.peer, x.payload, x.priority);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, maintain& x) {
  return f(caf::meta::type_name("maintain"), x.peer);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drop& x) {
  return f(caf::meta::type_name("drop"), x.peer);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, blacklist_entry& x) {
  return f(caf::meta::type_name("blacklist_entry"), x.kind, x.peer, x.address, x.prefix_len);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, blacklist& x) {
  return f(caf::meta::type_name("blacklist"), x.entry);
}

} // namespace crust
