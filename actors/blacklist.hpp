#pragma once

#include "messages/commands.hpp"
#include "messages/peer_id.hpp"

#include <optional>
#include <string>
#include <vector>

namespace crust {

/// The session's blacklist: peer ids, addresses and subnets (CIDR). Address
/// checks are cheap and run before any cryptography; peer checks run right
/// after the handshake authenticates the peer.
class address_blacklist {
public:
  /// Adds an entry; says why when it is malformed (bad address or prefix).
  std::optional<std::string> add(const blacklist_entry& entry);

  bool blocks_peer(const peer_id& peer) const;

  /// True when the numeric address (IPv4 or IPv6, IPv4-mapped handled) is
  /// listed or inside a listed subnet.
  bool blocks_address(const std::string& address) const;

  /// True when the entry matches this peer at this address.
  static bool matches(const blacklist_entry& entry, const peer_id& peer,
                      const std::string& address);

  const std::vector<blacklist_entry>& entries() const { return entries_; }

private:
  std::vector<blacklist_entry> entries_;
};

} // namespace crust
