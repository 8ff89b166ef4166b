#pragma once

// Classifies the NAT in front of a UDP socket from what STUN servers saw
// (RFC 4787 / 5780 terms): the mapped endpoint equal to one of our own
// addresses and port means no NAT; the same mapping towards two servers at
// different addresses means an endpoint-independent ("cone") mapping; two
// different mappings mean an endpoint-dependent ("symmetric") one. Sans-I/O.

#include "messages/connection_info.hpp"
#include "messages/endpoint.hpp"

#include <optional>
#include <string>
#include <vector>

namespace crust {

class nat_classifier {
public:
  /// Our socket: the addresses of our interfaces and its port.
  void set_local(std::vector<std::string> addresses, uint16_t port);

  /// A STUN server at `server` saw us as `mapped`.
  void on_mapping(const endpoint& server, const endpoint& mapped);

  /// Forgets every mapping (say, after the network changed).
  void clear() { seen_.clear(); }

  nat_class classify() const;

  /// The endpoint others see: the mapping, if all servers agree (or only
  /// one answered); nothing while unknown or when the mapping depends on
  /// the destination.
  std::optional<endpoint> external() const;

  /// Every distinct mapped endpoint seen.
  std::vector<endpoint> mapped() const;

  /// The servers that answered.
  std::vector<endpoint> servers() const;

private:
  struct seen {
    endpoint server;
    endpoint mapped;
  };
  std::vector<std::string> addresses_;
  uint16_t port_ = 0;
  std::vector<seen> seen_;
};

} // namespace crust
