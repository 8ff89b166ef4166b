#pragma once

#include <cstdint>
#include <vector>

namespace crust {

/// An owned byte sequence: a message payload, a datagram, a key.
using bytes = std::vector<uint8_t>;

} // namespace crust
