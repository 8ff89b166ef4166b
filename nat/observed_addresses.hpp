#pragma once

// What connected peers say they see us as (the handshake's observed
// address), and what several of them agree on. One peer can lie or sit
// behind a translator of its own; an address counts only when `quorum`
// distinct peers report it. On reliable-UDP links the observed endpoint is a
// mapping of the node's own UDP socket, as a STUN server would report it.
// Sans-I/O.

#include "messages/connection_info.hpp"
#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace crust {

class observed_addresses {
public:
  explicit observed_addresses(size_t quorum = 2) : quorum_(quorum) {}

  /// `observer` (a connected peer at `observer_address`) saw us as `seen`.
  void add(const peer_id& observer, const std::string& observer_address, const endpoint& seen);

  /// The observer's link went.
  void remove(const peer_id& observer);

  /// The IP address at least `quorum` peers agree on.
  std::optional<std::string> trusted_address() const;

  /// The IPv4 address our TCP links come from as peers see it: what
  /// `quorum` of them agree on, else what every TCP observer says when none
  /// disagrees (one is enough: it can only make us name a wrong address
  /// in a guess the peer dials to test, see punch_plan's
  /// `tcp_mapping_guess`). None when it is one of `local_addresses` (no
  /// NAT) or observers disagree.
  std::optional<std::string> tcp_address(const std::vector<std::string>& local_addresses) const;

  /// The UDP endpoint (of our node socket) at least `quorum` peers agree on.
  std::optional<endpoint> trusted_udp() const;

  /// The mapping behaviour the UDP reports show: two observers at different
  /// addresses seeing different ports → endpoint_dependent; a quorum on one
  /// endpoint → endpoint_independent (or none when it is ours); else unknown.
  nat_class classify(const std::vector<std::string>& local_addresses, uint16_t local_port) const;

  size_t size() const { return seen_.size(); }

private:
  struct report {
    std::string observer_address;
    endpoint seen;
  };
  size_t quorum_;
  std::map<peer_id, report> seen_;
};

} // namespace crust
