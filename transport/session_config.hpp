#pragma once

#include "messages/endpoint.hpp"
#include "messages/node_role.hpp"
#include "transport/handshake_payload.hpp"
#include "transport/noise/cipher_state.hpp"
#include "transport/static_credential.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace crust {

/// What one stream session needs to know; the node fills it from its config.
struct session_config {
  std::string network = "crust";        ///< peers of other networks cannot connect
  node_role role = node_role::node;  ///< our role
  uint16_t listen_port = 0;             ///< advertised in our handshake payload
  std::optional<endpoint> observed;     ///< the peer's address as we see it, told to the peer
  size_t max_message_size = 2 * 1024 * 1024;  ///< largest message either way
  size_t send_queue_limit = 16 * 1024 * 1024; ///< bytes queued, all priorities
  std::chrono::milliseconds handshake_timeout{5000};  ///< give up a handshake after this long
  std::chrono::milliseconds keepalive_interval{2500}; ///< ping when we sent nothing this long
  std::chrono::milliseconds peer_timeout{10000};      ///< dead when we heard nothing this long
  std::chrono::milliseconds close_timeout{3000};      ///< wait this long for the peer's CLOSE
  uint64_t rekey_interval = uint64_t{1} << 20;        ///< frames; must match the peer
  /// A dial that may meet the peer's own dial on one TCP connection (TCP
  /// simultaneous open, both sides initiators): when the peer's first
  /// handshake message arrives instead of an answer, the side whose
  /// ephemeral key is smaller turns responder (PROTOCOL.md §9).
  bool simultaneous_open = false;
  /// A reachability probe (a dial-back): our handshake says so
  /// (feature_probe), and the peer never takes the connection for a link.
  bool probe = false;
  /// Offer AES-256-GCM for transport frames (feature_aesgcm) when this CPU
  /// has AES instructions; both ends must offer it. Off: ChaCha20-Poly1305.
  bool aesgcm = true;
  /// The node's Noise static key and its signature, shared by its sessions.
  /// Unset, or made by another identity: each session makes its own (a key
  /// generation and a signature more per handshake).
  std::shared_ptr<const static_credential> credential;

  /// `credential` when it is `self`'s, else a fresh one.
  std::shared_ptr<const static_credential> credential_for(const identity& self) const {
    if (credential && credential->owner == self.id())
      return credential;
    return static_credential::make(self);
  }

  /// Whether our handshake offers AES-256-GCM.
  bool offers_aesgcm() const { return aesgcm && noise::aesgcm_available(); }

  /// The transport cipher once the peer's feature bits are known.
  noise::cipher_kind transport_cipher(uint32_t peer_features) const {
    return offers_aesgcm() && (peer_features & feature_aesgcm) != 0 ? noise::cipher_kind::aesgcm
                                                       : noise::cipher_kind::chachapoly;
  }
};

} // namespace crust
