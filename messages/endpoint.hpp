#pragma once

#include <cstdint>
#include <string>
#include <tuple>

namespace crust {

/// The transport protocol of an endpoint or connection.
enum class protocol : uint8_t { tcp = 0, udp = 1 };

inline std::string to_string(protocol x) {
  return x == protocol::tcp ? "tcp" : "udp";
}

/// Where a node can be reached: protocol, numeric IPv4/IPv6 address, port.
/// Printed as `tcp://127.0.0.1:5000` or `udp://[::1]:5000`.
struct endpoint {
  protocol proto = protocol::tcp;  ///< TCP or UDP
  std::string address; ///< numeric IPv4 or IPv6 address, no brackets
  uint16_t port = 0;  ///< the port number

  /// Same protocol, address and port.
  friend bool operator==(const endpoint& a, const endpoint& b) {
    return std::tie(a.proto, a.address, a.port) == std::tie(b.proto, b.address, b.port);
  }
  friend bool operator!=(const endpoint& a, const endpoint& b) { return !(a == b); }  ///< not equal
  /// An order for maps and sets.
  friend bool operator<(const endpoint& a, const endpoint& b) {
    return std::tie(a.proto, a.address, a.port) < std::tie(b.proto, b.address, b.port);
  }
};

inline std::string to_string(const endpoint& x) {
  auto v6 = x.address.find(':') != std::string::npos;
  return to_string(x.proto) + "://" + (v6 ? "[" + x.address + "]" : x.address)
         + ":" + std::to_string(x.port);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, endpoint& x) {
  return f(x.proto, x.address, x.port);
}

} // namespace crust
