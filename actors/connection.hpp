#pragma once

#include "actors/delivery.hpp"
#include "actors/internal_messages.hpp"
#include "actors/receive_budget.hpp"
#include "transport/datagram_socket.hpp"
#include "transport/identity.hpp"
#include "transport/io_runtime.hpp"
#include "transport/logger.hpp"
#include "transport/rudp/session.hpp"
#include "transport/session_config.hpp"
#include "transport/byte_stream.hpp"
#include "transport/stream_session.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace crust {

/// What every connection actor of a node shares.
struct connection_params {
  std::shared_ptr<io_runtime> runtime;
  std::shared_ptr<const identity> self_id;
  session_config session;
  std::chrono::milliseconds connect_timeout{5000};
  manager_actor manager;
  routing_actor routing;
  logger_ptr log;
  // Reliable UDP: the node's socket and its router.
  std::shared_ptr<datagram_socket> udp_socket;
  udp_mux_actor mux;
  rudp::config rudp;
  // Receive budget per link (see receive_budget).
  size_t receive_queue = 8 * 1024 * 1024;
  size_t receive_rate = 0;
  /// A TCP simultaneous-open dial (path punched_tcp): it leaves from the
  /// listening port and re-dials until `window` is over; the handshake
  /// settles who is initiator (session_config::simultaneous_open).
  struct tcp_punch {
    std::string local_address;
    uint16_t local_port = 0;
    std::chrono::milliseconds attempt_timeout{500};
    std::chrono::milliseconds window{3000};
  };
  std::optional<tcp_punch> punch = std::nullopt;
  /// `message`s to the routing layer, or `message_batch`es.
  delivery delivery_mode = delivery::each;
};

/// The state of one connection actor: a thin owner of one link — a TCP
/// socket with a `stream_session`, or a reliable-UDP `rudp::session` on the
/// node's UDP socket — that speaks the same protocol to the manager either
/// way.
struct connection_state {
  // Declared first, destroyed last: sockets live on the runtime's loop.
  std::shared_ptr<io_runtime> runtime;
  std::shared_ptr<const identity> self_id;
  std::shared_ptr<byte_stream> stream;  ///< TCP, or a relay circuit
  std::optional<stream_session> session; ///< TCP
  /// Outbound TCP: the Noise ephemeral key for message 1, made while the
  /// connection is being set up rather than after it is.
  std::optional<noise::keypair> early_ephemeral;
  std::unique_ptr<rudp::session> rsession; ///< UDP
  std::optional<datagram_socket::udp::endpoint> udp_remote;
  connection_params params;
  protocol transport = protocol::tcp;
  direction dir = direction::outbound;
  endpoint remote;
  bool admitted = false;           ///< the manager accepted it as the peer's link
  bool authenticated = false;      ///< the handshake finished
  bool awaiting_admission = false; ///< handshake done, manager not yet answered
  bool rejected = false;           ///< the manager closed it: drop what arrives
  bool closing_reported = false;   ///< the manager knows we stopped accepting
  bool flush_pending = false;      ///< a flush message is in our mailbox
  bool routed = false;             ///< UDP: the mux routes our connection id to us
  bool done = false;
  /// Message bytes delivered and not yet processed, and the delivery rate;
  /// over budget the link is `paused`: no events taken, no read credit.
  std::shared_ptr<receive_budget> budget;
  bool paused = false;
  /// The manager holds our delivery while a duplicate link of the same peer
  /// drains (what the peer sent there came first).
  bool gated = false;
  bool credit_timer = false;       ///< a rate refill `credit` is scheduled
  size_t unflushed = 0;            ///< TCP: bytes handed to the stream, not yet written
  size_t uncredited = 0;           ///< TCP: bytes read but not yet returned as credit
  uint64_t bytes_sent = 0;         ///< written to the socket
  uint64_t bytes_received = 0;     ///< read from the socket
  stream_session::time_point tick_at = stream_session::time_point::max();
  /// When the link began (the dial, or the accepted socket): handshake
  /// durations count from here.
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  bool has_session() const { return session.has_value() || rsession != nullptr; }

  /// Runs `f` on whichever session this link has (call only when it has one).
  template <class F>
  decltype(auto) visit(F&& f) {
    if (session)
      return f(*session);
    return f(*rsession);
  }

  static inline const char* name = "crust.connection";
};

using connection_pointer = connection_actor::stateful_pointer<connection_state>;

/// A TCP connection actor. With `stream` set it serves an accepted socket as
/// the responder; otherwise it dials `remote` and initiates.
connection_actor::behavior_type connection(connection_pointer self, connection_params params,
                                           direction dir, endpoint remote,
                                           std::shared_ptr<byte_stream> stream);

/// A reliable-UDP connection actor. With `initial` set it answers that
/// (validated) INITIAL as the responder; otherwise it dials `remote`.
connection_actor::behavior_type
udp_connection(connection_pointer self, connection_params params, direction dir, endpoint remote,
               std::shared_ptr<rudp::initial_packet> initial);

} // namespace crust
