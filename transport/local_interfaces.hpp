#pragma once

// The host's network interfaces (getifaddrs), and the endpoints a node
// listening on a wildcard address can actually be reached at.

#include "messages/endpoint.hpp"

#include <string>
#include <vector>

namespace crust {

struct local_interface {
  std::string name;
  unsigned index = 0;
  std::string address;    ///< numeric IPv4 or IPv6 (link-local without scope)
  std::string broadcast;  ///< IPv4 broadcast address, when the interface has one
  bool ipv6 = false;
  bool loopback = false;
  bool link_local = false; ///< IPv6 fe80::/10 or IPv4 169.254/16
  bool multicast = false;  ///< the interface supports multicast
};

/// Every address of every interface that is up.
std::vector<local_interface> local_interfaces();

/// Replaces wildcard listening endpoints ("0.0.0.0", "::") by the
/// interfaces' routable addresses (no link-local; loopback only when there
/// is nothing else). Specific endpoints pass through.
std::vector<endpoint> reachable_endpoints(const std::vector<endpoint>& listening);

} // namespace crust
