#pragma once

#include <cstdint>
#include <string>

namespace crust {

/// How a connection got through: straight to the peer's listening endpoint,
/// through a port the peer's router mapped for it (UPnP / NAT-PMP), through a
/// hole punched in both NATs, or through a relay node.
enum class path_kind : uint8_t {
  direct = 0,
  upnp = 1,
  punched_udp = 2,
  punched_tcp = 3,
  relayed = 4,
};

inline std::string to_string(path_kind x) {
  switch (x) {
    case path_kind::direct: return "direct";
    case path_kind::upnp: return "upnp";
    case path_kind::punched_udp: return "punched_udp";
    case path_kind::punched_tcp: return "punched_tcp";
    case path_kind::relayed: return "relayed";
  }
  return "unknown";
}

} // namespace crust
