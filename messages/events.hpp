#pragma once

// Events the node sends to the routing layer.

#include "messages/bytes.hpp"
#include "messages/direction.hpp"
#include "messages/ec.hpp"
#include "messages/endpoint.hpp"
#include "messages/node_role.hpp"
#include "messages/path_kind.hpp"
#include "messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace crust {

/// A peer is connected and authenticated. Sent once per peer, however many
/// sockets were tried: a later duplicate is resolved silently.
struct connection_up {
  peer_id peer;  ///< the peer's identity (its Ed25519 public key)
  endpoint remote;      ///< the address of the socket's other end
  direction dir = direction::outbound;  ///< who dialled: us (outbound) or the peer (inbound)
  protocol transport = protocol::tcp;  ///< TCP or reliable UDP
  node_role role = node_role::node;  ///< `node` (accepts connections) or `client`
  path_kind path = path_kind::direct; ///< how the connection got through
  /// Outbound: the endpoint the dial asked for. It differs from `remote` when
  /// reliable UDP won a happy-eyeballs race to a TCP endpoint; the address to
  /// remember for the next dial is this one. Inbound: empty (port 0).
  endpoint dialled{};
  /// Where the peer sees us (its handshake says so), port 0 when it did not
  /// say. On a reliable-UDP link: a mapping of our UDP socket.
  endpoint observed{};
};

/// A connected peer's link moved to another path, e.g. a relayed link
/// upgraded to a punched one (PROTOCOL.md §9.6). The peer stayed connected
/// throughout: no `connection_down` came before, and messages keep their
/// order across the move.
struct path_changed {
  peer_id peer;  ///< the peer, connected throughout
  endpoint remote;      ///< the new link's other end
  protocol transport = protocol::tcp;  ///< the new link's transport
  path_kind from = path_kind::relayed;  ///< the path it left
  path_kind to = path_kind::direct;  ///< the path it took
};

/// A peer is no longer connected, and why.
struct connection_down {
  peer_id peer;  ///< the peer that went
  ec reason = ec::none;  ///< why: the peer closed, timed out, was dropped, ... (an `ec` code)
};

/// A message from a connected peer. It arrives without a CAF sender
/// (`current_sender()` is null): answer the peer through the node.
struct message {
  peer_id peer;  ///< who sent it
  bytes payload;  ///< the message as the peer sent it
  /// crust counts the payload as unprocessed by the routing layer until the
  /// last copy of this message is gone (or this is reset): a peer whose
  /// unprocessed bytes reach `receive_queue` is not read from meanwhile.
  /// Local only: never serialized.
  std::shared_ptr<void> receipt{};
};

/// Messages from one connected peer, in the order it sent them: what a
/// `batch_routing_actor` given to `spawn_batching_node` gets instead of one
/// `message` each. crust hands over together what it took from the peer in
/// one go (one socket read, one batch of datagrams), up to
/// `max_batch_messages` messages or about `max_batch_bytes`: one actor
/// message for many small ones. Like `message`, it has no CAF sender, and
/// batches and `connection_up`/`connection_down` keep the order a `message`
/// would.
struct message_batch {
  peer_id peer;  ///< who sent them
  std::vector<bytes> payloads;  ///< the messages, oldest first
  /// As `message::receipt`, for all the payloads together: their bytes count
  /// as unprocessed until the last copy of this batch is gone (or this is
  /// reset), whatever was moved out of it. Local only: never serialized.
  std::shared_ptr<void> receipt{};
};

/// A batch is handed over once it holds this many messages...
constexpr size_t max_batch_messages = 1024;
/// ... or this many payload bytes, even while more are waiting.
constexpr size_t max_batch_bytes = 256 * 1024;

/// The node accepts connections on these endpoints (empty: it stopped).
struct listening {
  std::vector<endpoint> endpoints;  ///< where the node listens (TCP first, then the UDP socket)
};

/// What an alert is about.
enum class alert_kind : uint8_t {
  handshake_failure = 0, ///< a peer failed the handshake (bad identity, tampering)
  protocol_violation = 1, ///< malformed or oversized frames from an authenticated peer
  listen_failure = 2,     ///< the acceptor could not listen or accept
  bad_cache_file = 3,     ///< the bootstrap cache file was corrupt or foreign (set aside)
  discovery_abuse = 4,    ///< forged or malformed records, or a beacon/gossip flood
  handshake_flood = 5,    ///< inbound handshakes refused: half-open limits reached
  rate_exceeded = 6,      ///< an address exceeded its connection rate
  connection_limit = 7,   ///< inbound connections refused: `max_connections` reached
};

inline std::string to_string(alert_kind x) {
  switch (x) {
    case alert_kind::handshake_failure: return "handshake_failure";
    case alert_kind::protocol_violation: return "protocol_violation";
    case alert_kind::listen_failure: return "listen_failure";
    case alert_kind::bad_cache_file: return "bad_cache_file";
    case alert_kind::discovery_abuse: return "discovery_abuse";
    case alert_kind::handshake_flood: return "handshake_flood";
    case alert_kind::rate_exceeded: return "rate_exceeded";
    case alert_kind::connection_limit: return "connection_limit";
  }
  return "unknown";
}

/// Something the routing layer may want to act on (e.g. by blacklisting).
struct alert {
  alert_kind kind = alert_kind::handshake_failure;  ///< what the alert is about
  ec reason = ec::none;  ///< the error behind it
  std::string address;  ///< the remote address, when known
  peer_id peer;         ///< the peer, when authenticated (else all zero)
  uint64_t count = 1;   ///< occurrences this alert stands for
  std::string detail;   ///< a human-readable explanation
};

/// A `connect` did not produce a connection.
struct connect_failed {
  endpoint remote;  ///< the endpoint the dial asked for
  ec reason = ec::none;  ///< why it failed (for a refusal, the peer's reason)
  /// When the peer refused us before the handshake (a limit, its rate,
  /// blacklisted, shutting down), how long it asked us to wait before
  /// dialling again, in milliseconds; 0 when it named no time.
  uint32_t retry_after_ms = 0;
};

/// A `send` could not be queued; the payload comes back to its sender.
struct send_failed {
  peer_id peer;  ///< the peer the message was for
  ec reason = ec::none; ///< message_too_large, send_queue_full or not_connected
  bytes payload;  ///< the message, handed back
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_up& x) {
  return f(caf::meta::type_name("connection_up"), x.peer, x.remote, x.dir, x.transport, x.role,
           x.path, x.dialled,
           x.observed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, path_changed& x) {
  return f(caf::meta::type_name("path_changed"), x.peer, x.remote, x.transport, x.from, x.to);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_down& x) {
  return f(caf::meta::type_name("connection_down"), x.peer, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message& x) {
  return f(caf::meta::type_name("message"), x.peer, x.payload);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message_batch& x) {
  return f(caf::meta::type_name("message_batch"), x.peer, x.payloads);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, listening& x) {
  return f(caf::meta::type_name("listening"), x.endpoints);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alert& x) {
  return f(caf::meta::type_name("alert"), x.kind, x.reason, x.address, x.peer, x.count,
           x.detail);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connect_failed& x) {
  return f(caf::meta::type_name("connect_failed"), x.remote, x.reason, x.retry_after_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, send_failed& x) {
  return f(caf::meta::type_name("send_failed"), x.peer, x.reason, x.payload);
}

} // namespace crust
