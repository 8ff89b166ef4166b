#pragma once

#include "transport/noise/handshake_pattern.hpp"
#include "transport/noise/symmetric_state.hpp"

#include <optional>
#include <utility>

namespace crust::noise {

/// The keys a party brings to a handshake. `ephemeral` is only set by tests
/// that replay published vectors; otherwise a fresh one is generated.
struct handshake_keys {
  std::optional<keypair> static_keys;
  std::optional<keypair> ephemeral;
  std::optional<public_key> remote_static;
  std::optional<public_key> remote_ephemeral;
};

/// Noise's HandshakeState for Noise_<pattern>_25519_ChaChaPoly_SHA256, written
/// sans-I/O: `write_message` and `read_message` alternate as the pattern says
/// until `finished()`, then `split()` yields the transport ciphers.
class handshake_state {
public:
  handshake_state(const handshake_pattern& pattern, bool initiator,
                  const uint8_t* prologue, size_t prologue_len, handshake_keys keys);

  /// Appends the next handshake message carrying `payload` to `out`.
  ec write_message(const uint8_t* payload, size_t len, bytes& out);

  /// Consumes the next handshake message and appends its payload to `payload`.
  /// Any error leaves the handshake unusable: the caller must abandon it.
  ec read_message(const uint8_t* message, size_t len, bytes& payload);

  bool finished() const { return next_ == pattern_.messages.size(); }

  /// True when the next message is ours to write.
  bool my_turn() const;

  bool initiator() const { return initiator_; }

  /// The transport ciphers after the handshake: (for sending, for receiving).
  std::pair<cipher_state, cipher_state> split() const;

  const digest& handshake_hash() const { return sym_.handshake_hash(); }

  /// The peer's static key, once a message carried it (or a pre-message did).
  const std::optional<public_key>& remote_static() const { return keys_.remote_static; }

  const handshake_pattern& pattern() const { return pattern_; }

private:
  ec dh(const keypair& local, const public_key& remote);
  ec mix_dh(token t);

  handshake_pattern pattern_;
  bool initiator_;
  symmetric_state sym_;
  handshake_keys keys_;
  size_t next_ = 0;
  bool failed_ = false;
};

/// "Noise_<pattern>_25519_ChaChaPoly_SHA256".
std::string protocol_name(std::string_view pattern);

} // namespace crust::noise
