#pragma once

// Byte-level helpers for discovery's wire formats: a bounds-checked reader,
// a writer, and the compact endpoint encoding
//   proto u8 (0 tcp, 1 udp) | family u8 (4 or 6) | address (4 or 16) | port u16 BE

#include "messages/bytes.hpp"
#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace crust::wire {

class reader {
public:
  reader(const uint8_t* data, size_t len) : pos_(data), end_(data + len) {}
  explicit reader(const bytes& b) : reader(b.data(), b.size()) {}

  size_t left() const { return static_cast<size_t>(end_ - pos_); }
  const uint8_t* pos() const { return pos_; }
  bool ok() const { return ok_; }

  uint8_t u8();
  uint16_t u16();
  uint64_t u64();
  /// `n` bytes, or nullptr (and !ok()) when fewer are left.
  const uint8_t* take(size_t n);

private:
  const uint8_t* pos_;
  const uint8_t* end_;
  bool ok_ = true;
};

/// Big-endian u64 at `p` (the caller checked the length).
inline uint64_t load_u64(const uint8_t* p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = x << 8 | p[i];
  return x;
}

inline void store_u64(uint8_t* p, uint64_t x) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(x);
    x >>= 8;
  }
}

void put_u8(bytes& out, uint8_t x);
void put_u16(bytes& out, uint16_t x);
void put_u64(bytes& out, uint64_t x);
void put_bytes(bytes& out, const uint8_t* data, size_t len);

/// Appends the endpoint; false (nothing appended) if its address is not a
/// numeric IPv4/IPv6 address.
bool put_endpoint(bytes& out, const endpoint& ep);

/// Appends a peer id's 32 key bytes.
inline void put_peer(bytes& out, const peer_id& x) {
  put_bytes(out, x.key.data(), x.key.size());
}

/// Reads a peer id; false (and !in.ok()) when fewer than 32 bytes are left.
bool get_peer(reader& in, peer_id& out);

/// Reads an endpoint; nullopt on a bad family, protocol or truncation.
std::optional<endpoint> get_endpoint(reader& in);

/// True for an endpoint worth dialling: port set, address neither
/// unspecified, multicast nor broadcast.
bool dialable(const endpoint& ep);

} // namespace crust::wire
