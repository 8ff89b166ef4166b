#pragma once

#include "messages/bytes.hpp"
#include "messages/peer_id.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace crust {

/// Lowercase hex of `data`.
inline std::string to_hex(const uint8_t* data, size_t len) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0x0f];
  }
  return out;
}

template <class Container>
std::string to_hex(const Container& xs) {
  return to_hex(reinterpret_cast<const uint8_t*>(xs.data()), xs.size());
}

/// The bytes that `text` spells in hex (either case), or nothing when it has
/// an odd length or a non-hex character.
inline std::optional<bytes> from_hex(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() % 2 != 0)
    return std::nullopt;
  bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(text[2 * i]);
    int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

/// The peer id spelled by 64 hex digits, or nothing.
inline std::optional<peer_id> peer_id_from_hex(std::string_view text) {
  auto raw = from_hex(text);
  if (!raw || raw->size() != peer_id::size)
    return std::nullopt;
  peer_id result;
  std::copy(raw->begin(), raw->end(), result.key.begin());
  return result;
}

} // namespace crust
