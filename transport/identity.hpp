#pragma once

#include "messages/bytes.hpp"
#include "messages/peer_id.hpp"

#include <array>
#include <optional>
#include <string>

namespace crust {

/// A node's long-term Ed25519 identity. Its public key is the node's peer_id.
class identity {
public:
  static constexpr size_t seed_size = 32;  ///< bytes in a seed
  static constexpr size_t signature_size = 64;  ///< bytes in a signature
  using seed_type = std::array<uint8_t, seed_size>;  ///< the 32-byte secret seed
  using signature = std::array<uint8_t, signature_size>;  ///< an Ed25519 signature

  /// A fresh random identity.
  static identity generate();

  /// The identity derived from a 32-byte seed.
  static identity from_seed(const seed_type& seed);

  const peer_id& id() const { return id_; }  ///< our peer id (the public key)
  const seed_type& seed() const { return seed_; }  ///< the secret seed (keep it secret)

  signature sign(const uint8_t* data, size_t len) const;  ///< signs `data` with the secret key

  /// True when `sig` is `signer`'s signature over `data`.
  static bool verify(const peer_id& signer, const uint8_t* data, size_t len,
                     const signature& sig);

private:
  identity() = default;
  seed_type seed_{};
  std::array<uint8_t, 64> secret_{}; // libsodium's expanded secret key
  peer_id id_;
};

} // namespace crust
