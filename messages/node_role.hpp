#pragma once

#include <cstdint>
#include <string>

namespace crust {

/// How a peer takes part: a `node` accepts connections and may be handed out
/// as a bootstrap contact; a `client` never accepts connections and is never
/// handed out.
enum class node_role : uint8_t { node = 0, client = 1 };

inline std::string to_string(node_role x) {
  return x == node_role::node ? "node" : "client";
}

} // namespace crust
