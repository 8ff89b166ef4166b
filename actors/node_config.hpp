#pragma once

#include "actors/limits_config.hpp"
#include "discovery/discovery_config.hpp"
#include "messages/endpoint.hpp"
#include "messages/node_role.hpp"
#include "nat/nat_config.hpp"
#include "transport/logger.hpp"
#include "transport/rudp/session.hpp"
#include "transport/session_config.hpp"

#include <chrono>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

namespace crust {

class io_runtime;

/// Everything a node can be told. crust-node fills it from its ini file and
/// command line; embedders fill it directly. Defaults are safe for the
/// public internet.
struct node_config {
  // -- identity and network ---------------------------------------------------
  std::string network = "crust";   ///< nodes of different networks never connect
  node_role role = node_role::node; ///< clients never accept connections

  // -- listening --------------------------------------------------------------
  bool listen = true;                ///< accept connections (ignored for clients)
  std::string listen_address = "::"; ///< "::" = all IPv6 and IPv4 addresses
  uint16_t tcp_port = 0;             ///< 0 = a random port
  bool port_fallback = true;         ///< if tcp_port is taken, take a random one

  // -- reliable UDP -------------------------------------------------------------
  /// Which transport `connect` uses: TCP with reliable UDP started in parallel
  /// after `udp_fallback_delay` (first authenticated link wins), or one only.
  enum class transport_mode : uint8_t { automatic, tcp_only, udp_only };
  transport_mode transport = transport_mode::automatic;  ///< TCP, reliable UDP or both (happy eyeballs)
  bool udp = true;                 ///< open the node's UDP socket
  uint16_t udp_port = 0;           ///< 0: the TCP listening port's number (random when not listening)
  std::chrono::milliseconds udp_fallback_delay{250};  ///< reliable UDP joins a TCP dial not connected by then
  rudp::config rudp;  ///< reliable UDP's settings

  // -- connections ------------------------------------------------------------
  /// Fallback contacts: dialled at start when the bootstrap cache yields
  /// too few connections (see `discovery`).
  std::vector<endpoint> contacts;
  size_t max_message_size = 2 * 1024 * 1024;  ///< largest message either way (bytes)
  size_t send_queue_limit = 16 * 1024 * 1024; ///< per connection, bytes
  std::chrono::milliseconds connect_timeout{5000};  ///< give up a TCP connect after this long
  std::chrono::milliseconds handshake_timeout{5000};  ///< give up a handshake after this long
  std::chrono::milliseconds keepalive_interval{2500};  ///< ping after this long without sending
  std::chrono::milliseconds peer_timeout{10000};  ///< report a silent peer down after this long
  /// How long a peer whose connection the other side closed as a duplicate
  /// may take to complete its replacement before we report it down.
  std::chrono::milliseconds duplicate_grace{3000};
  std::chrono::milliseconds redial_min{500};   ///< first re-dial delay of a maintained peer
  std::chrono::milliseconds redial_max{30000}; ///< backoff cap
  /// Offer AES-256-GCM for transport frames when this CPU has AES
  /// instructions (used when the peer offers it too); else, and when off,
  /// ChaCha20-Poly1305. The handshake is always ChaChaPoly.
  bool aesgcm = true;

  // -- DoS limits: admission, half-open handshakes, rates, receive budget ------
  limits_config limits;  ///< DoS limits

  // -- runtime ----------------------------------------------------------------
  size_t io_threads = 1; ///< threads running the node's Asio event loop
  /// An event loop to share with the process's other nodes (many nodes in
  /// one process: tests, simulations); empty = the node runs its own with
  /// `io_threads` threads.
  std::shared_ptr<io_runtime> runtime;

  // -- discovery: bootstrap cache, LAN beacon, gossip -------------------------
  discovery_config discovery;  ///< bootstrap cache, beacon, gossip

  // -- NAT traversal: STUN, rendezvous, hole punching -------------------------
  nat_config nat;  ///< STUN, UPnP, punching, rendezvous, relays

  // -- logging ----------------------------------------------------------------
  log_level log = log_level::warning;  ///< the lowest level logged
  logger::sink log_sink;  ///< where lines go; empty = stderr

  /// The part of this config one stream session needs.
  session_config session(uint16_t listen_port) const {
    session_config s;
    s.network = network;
    s.role = role;
    s.listen_port = listen_port;
    s.max_message_size = max_message_size;
    s.send_queue_limit = send_queue_limit;
    s.handshake_timeout = handshake_timeout;
    s.keepalive_interval = keepalive_interval;
    s.peer_timeout = peer_timeout;
    s.aesgcm = aesgcm;
    return s;
  }
};

} // namespace crust
