#pragma once

// Commands the routing layer sends to the node.

#include "messages/bytes.hpp"
#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

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

/// New values for the settings a running node takes without a restart
/// (crust-node sends them on SIGHUP): its limits, its whitelist, its log
/// level, contacts to dial, and its beacon and gossip (restarted with the
/// new settings when they change). The node answers with the names of those
/// that changed, as the options call them.
struct reconfigure {
  uint64_t max_connections = 0;           ///< `max-connections`
  uint64_t max_half_open = 0;             ///< `max-half-open`
  uint64_t max_half_open_per_address = 0; ///< `max-half-open-per-address`
  double connection_rate = 0;             ///< `connection-rate` (per second and address)
  uint64_t connection_burst = 0;          ///< `connection-burst`
  uint64_t receive_rate = 0;              ///< `receive-rate` (bytes per second and peer)
  uint64_t receive_queue = 0;             ///< `receive-queue` (bytes per peer)
  std::vector<std::string> allow_only;    ///< `allow-only` (whitelist mode when not empty)
  std::string log_level;                  ///< `log-level`
  std::vector<endpoint> contacts;         ///< `contacts`: new ones are dialled at once
  std::string beacon;                     ///< `beacon`: off, ipv4, ipv6 or both
  uint16_t beacon_port = 0;               ///< `beacon-port`
  uint64_t beacon_interval_ms = 0;        ///< `beacon-interval`
  bool gossip = false;                    ///< not `no-gossip`
  uint64_t gossip_interval_ms = 0;        ///< `gossip-interval`
  uint8_t gossip_ttl = 0;                 ///< `gossip-ttl`
  uint64_t gossip_fanout = 0;             ///< `gossip-fanout`
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reconfigure& x) {
  return f(caf::meta::type_name("reconfigure"), x.max_connections, x.max_half_open,
           x.max_half_open_per_address, x.connection_rate, x.connection_burst, x.receive_rate,
           x.receive_queue, x.allow_only, x.log_level, x.contacts, x.beacon, x.beacon_port,
           x.beacon_interval_ms, x.gossip, x.gossip_interval_ms, x.gossip_ttl, x.gossip_fanout);
}

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
