#include "transport/identity.hpp"

#include <sodium.h>

namespace crust {

identity identity::generate() {
  seed_type seed;
  randombytes_buf(seed.data(), seed.size());
  return from_seed(seed);
}

identity identity::from_seed(const seed_type& seed) {
  static_assert(crypto_sign_SEEDBYTES == seed_size);
  static_assert(crypto_sign_PUBLICKEYBYTES == peer_id::size);
  static_assert(crypto_sign_SECRETKEYBYTES == 64);
  identity result;
  result.seed_ = seed;
  crypto_sign_seed_keypair(result.id_.key.data(), result.secret_.data(), seed.data());
  return result;
}

identity::signature identity::sign(const uint8_t* data, size_t len) const {
  signature sig;
  crypto_sign_detached(sig.data(), nullptr, data, len, secret_.data());
  return sig;
}

bool identity::verify(const peer_id& signer, const uint8_t* data, size_t len,
                      const signature& sig) {
  return crypto_sign_verify_detached(sig.data(), data, len, signer.key.data()) == 0;
}

} // namespace crust
