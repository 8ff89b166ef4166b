#pragma once

#include "transport/noise/cipher_state.hpp"

#include <string_view>
#include <utility>

namespace crust::noise {

/// Noise's SymmetricState: chaining key, handshake hash and a cipher state.
class symmetric_state {
public:
  /// InitializeSymmetric(protocol_name).
  explicit symmetric_state(std::string_view protocol_name);

  void mix_key(const uint8_t* input, size_t len);
  void mix_hash(const uint8_t* data, size_t len);

  /// Appends the (possibly encrypted) `plaintext` to `out` and mixes it into h.
  ec encrypt_and_hash(const uint8_t* plaintext, size_t len, bytes& out);

  /// Appends the decryption of `ciphertext` to `out` and mixes it into h.
  ec decrypt_and_hash(const uint8_t* ciphertext, size_t len, bytes& out);

  /// Split(): the initiator's sending and the responder's sending cipher.
  std::pair<cipher_state, cipher_state> split() const;

  bool has_key() const { return cipher_.has_key(); }
  const digest& handshake_hash() const { return h_; }

private:
  digest ck_{};
  digest h_{};
  cipher_state cipher_;
};

/// HKDF as Noise defines it over HMAC-SHA256, with two outputs.
std::pair<digest, digest> hkdf2(const digest& chaining_key, const uint8_t* input, size_t len);

} // namespace crust::noise
