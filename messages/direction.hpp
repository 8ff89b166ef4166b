#pragma once

#include <cstdint>
#include <string>

namespace crust {

/// Who opened a connection: we dialled (`outbound`) or the peer did (`inbound`).
enum class direction : uint8_t { outbound = 0, inbound = 1 };

inline std::string to_string(direction x) {
  return x == direction::outbound ? "outbound" : "inbound";
}

} // namespace crust
