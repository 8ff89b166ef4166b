#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace crust::noise {

/// Sizes of Noise_*_25519_ChaChaPoly_SHA256.
constexpr size_t dh_len = 32;       ///< X25519 public key and shared secret
constexpr size_t key_len = 32;      ///< ChaCha20-Poly1305 key
constexpr size_t tag_len = 16;      ///< Poly1305 tag
constexpr size_t hash_len = 32;     ///< SHA-256 output
constexpr size_t max_message_len = 65535; ///< Noise's limit for any message

using key = std::array<uint8_t, key_len>;
using digest = std::array<uint8_t, hash_len>;
using public_key = std::array<uint8_t, dh_len>;

/// An X25519 key pair.
struct keypair {
  key secret{};
  public_key pub{};

  /// A fresh random key pair (libsodium's CSPRNG).
  static keypair generate();

  /// The key pair with the given secret (its public half derived from it).
  static keypair from_secret(const key& secret);
};

} // namespace crust::noise
