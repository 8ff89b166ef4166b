#pragma once

#include "transport/noise/cipher_state.hpp"

#include <cstdint>
#include <utility>

namespace crust {

/// Frames after the handshake: one cipher per direction, nonces counting
/// frames, and a rekey (Noise's Rekey()) on both ends after every
/// `rekey_interval` frames in a direction, so no key protects unbounded data.
class secure_channel {
public:
  /// Frames per direction between rekeys; both ends must agree (protocol v1).
  static constexpr uint64_t default_rekey_interval = uint64_t{1} << 20;

  secure_channel(noise::cipher_state send, noise::cipher_state receive,
                 uint64_t rekey_interval = default_rekey_interval)
    : send_(std::move(send)), receive_(std::move(receive)), rekey_interval_(rekey_interval) {
  }

  /// Encrypts `len` bytes at `data` in place and writes the tag right after
  /// them (the caller leaves `noise::tag_len` bytes of room).
  ec seal_in_place(uint8_t* data, size_t len);

  /// Decrypts `len` bytes (ciphertext and tag) at `data` in place; the
  /// plaintext is the first `len - tag_len` bytes.
  ec open_in_place(uint8_t* data, size_t len);

  uint64_t frames_sent() const { return sent_; }
  uint64_t frames_received() const { return received_; }

private:
  noise::cipher_state send_;
  noise::cipher_state receive_;
  uint64_t rekey_interval_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
};

} // namespace crust
