#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

namespace crust {

/// Names a peer: its Ed25519 public identity key (32 bytes). Printed as
/// lowercase hex; `short_string` gives the first 8 hex digits for logs.
struct peer_id {
  static constexpr size_t size = 32;  ///< bytes in a peer id
  std::array<uint8_t, size> key{};  ///< the Ed25519 public key

  /// True for the all-zero id (unknown).
  bool empty() const {
    for (auto b : key)
      if (b != 0)
        return false;
    return true;
  }

  friend bool operator==(const peer_id& a, const peer_id& b) { return a.key == b.key; }  ///< same key
  friend bool operator!=(const peer_id& a, const peer_id& b) { return a.key != b.key; }  ///< another key
  friend bool operator<(const peer_id& a, const peer_id& b) { return a.key < b.key; }  ///< bytewise order (the duplicate rule's)
};

/// The full id as 64 lowercase hex digits.
inline std::string to_string(const peer_id& x) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(peer_id::size * 2);
  for (auto b : x.key) {
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

/// The first 8 hex digits, for log lines.
inline std::string short_string(const peer_id& x) {
  return to_string(x).substr(0, 8);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_id& x) {
  return f(x.key);
}

} // namespace crust

namespace std {
/// Hashing for unordered containers.
template <>
struct hash<crust::peer_id> {
  /// The first bytes of the key.
  size_t operator()(const crust::peer_id& x) const noexcept {
    // The key is uniformly random already: any 8 bytes are a good hash.
    size_t h;
    std::memcpy(&h, x.key.data(), sizeof(h));
    return h;
  }
};
} // namespace std
