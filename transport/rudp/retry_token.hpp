#pragma once

#include "messages/bytes.hpp"
#include "transport/rudp/packet.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace crust::rudp {

/// Mints and checks address-validation tokens without keeping any state: a
/// token is `expiry u32 (Unix s) | HMAC-SHA-256(secret, expiry | address |
/// port | client scid | first dcid)[:16]`. Only a client that received our
/// RETRY at its address can send it back, so a spoofed source never makes
/// us run a Diffie-Hellman or hold a byte of memory.
class retry_token {
public:
  static constexpr size_t size = 4 + 16;

  retry_token(); ///< a fresh random secret

  bytes mint(const std::string& address, uint16_t port, const cid& scid, const cid& dcid,
             uint32_t now_unix, uint32_t lifetime_s = 10) const;

  bool valid(const bytes& token, const std::string& address, uint16_t port, const cid& scid,
             const cid& dcid, uint32_t now_unix) const;

private:
  std::array<uint8_t, 32> secret_{};
};

} // namespace crust::rudp
