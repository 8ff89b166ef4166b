#pragma once

#include "actors/internal_messages.hpp"
#include "actors/udp_routes.hpp"
#include "transport/datagram_socket.hpp"
#include "transport/io_runtime.hpp"
#include "transport/logger.hpp"
#include "transport/rudp/retry_token.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace crust {

struct udp_mux_state {
  std::shared_ptr<io_runtime> runtime; // first: the socket lives on its loop
  std::shared_ptr<datagram_socket> socket;
  manager_actor manager;
  nat_actor puncher; ///< STUN and punches go here (null: dropped)
  logger_ptr log;
  rudp::retry_token tokens;
  std::shared_ptr<udp_routes> routes = std::make_shared<udp_routes>(); ///< by our connection id
  std::unordered_map<uint64_t, connection_actor> initials; ///< by a client's first dcid
  std::unordered_map<uint64_t, std::chrono::steady_clock::time_point> pending; ///< handed to the manager
  /// ABORTs that came for a pending set-up, handed to its responder once
  /// it is routed (at most one per pending entry).
  std::unordered_map<uint64_t, bytes> pending_aborts;
  size_t max_pending = 256;   ///< responders being set up at once, at most
  uint64_t retries = 0;       ///< RETRY packets sent (no state kept for them)
  uint64_t refused = 0;       ///< INITIALs refused (malformed, over the limit, blacklisted)

  ~udp_mux_state() {
    if (socket)
      socket->close();
  }

  explicit udp_mux_state(caf::local_actor*) {}
  static inline const char* name = "crust.udp_mux";
};

using udp_mux_pointer = udp_mux_actor::stateful_pointer<udp_mux_state>;

/// The node's UDP socket: routes each datagram to its reliable-UDP
/// connection by connection id; answers an INITIAL without a valid token
/// with a stateless RETRY; hands validated INITIALs to the manager; passes
/// STUN datagrams to the NAT puncher and sends its raw datagrams.
udp_mux_actor::behavior_type udp_mux(udp_mux_pointer self, std::shared_ptr<io_runtime> runtime,
                                     std::shared_ptr<datagram_socket> socket,
                                     manager_actor manager, nat_actor puncher, logger_ptr log);

uint64_t cid_to_u64(const rudp::cid& x);
rudp::cid u64_to_cid(uint64_t x);

} // namespace crust
