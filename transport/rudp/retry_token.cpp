#include "transport/rudp/retry_token.hpp"

#include <algorithm>

#include <sodium.h>

#include <cstring>

namespace crust::rudp {

namespace {

std::array<uint8_t, 32> mac(const std::array<uint8_t, 32>& secret, uint32_t expiry,
                            const std::string& address, uint16_t port, const cid& scid,
                            const cid& dcid) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, secret.data(), secret.size());
  uint8_t e[4] = {static_cast<uint8_t>(expiry >> 24), static_cast<uint8_t>(expiry >> 16),
                  static_cast<uint8_t>(expiry >> 8), static_cast<uint8_t>(expiry)};
  crypto_auth_hmacsha256_update(&st, e, sizeof e);
  uint8_t len = static_cast<uint8_t>(address.size());
  crypto_auth_hmacsha256_update(&st, &len, 1);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const uint8_t*>(address.data()),
                                address.size());
  uint8_t p[2] = {static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
  crypto_auth_hmacsha256_update(&st, p, sizeof p);
  crypto_auth_hmacsha256_update(&st, scid.data(), scid.size());
  crypto_auth_hmacsha256_update(&st, dcid.data(), dcid.size());
  std::array<uint8_t, 32> out;
  crypto_auth_hmacsha256_final(&st, out.data());
  return out;
}

} // namespace

retry_token::retry_token() {
  randombytes_buf(secret_.data(), secret_.size());
}

bytes retry_token::mint(const std::string& address, uint16_t port, const cid& scid,
                        const cid& dcid, uint32_t now_unix, uint32_t lifetime_s) const {
  uint32_t expiry = now_unix + lifetime_s;
  auto m = mac(secret_, expiry, address, port, scid, dcid);
  // Sized up front: growing a 4-byte vector by insert trips GCC 12's
  // -Warray-bounds false positive.
  bytes out(size);
  out[0] = static_cast<uint8_t>(expiry >> 24);
  out[1] = static_cast<uint8_t>(expiry >> 16);
  out[2] = static_cast<uint8_t>(expiry >> 8);
  out[3] = static_cast<uint8_t>(expiry);
  std::copy(m.begin(), m.begin() + 16, out.begin() + 4);
  return out;
}

bool retry_token::valid(const bytes& token, const std::string& address, uint16_t port,
                        const cid& scid, const cid& dcid, uint32_t now_unix) const {
  if (token.size() != size)
    return false;
  uint32_t expiry = static_cast<uint32_t>(token[0]) << 24 | static_cast<uint32_t>(token[1]) << 16
                    | static_cast<uint32_t>(token[2]) << 8 | token[3];
  if (expiry < now_unix)
    return false;
  auto m = mac(secret_, expiry, address, port, scid, dcid);
  return sodium_memcmp(m.data(), token.data() + 4, 16) == 0;
}

} // namespace crust::rudp
