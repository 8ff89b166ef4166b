#pragma once

// What to do for a traversal, given both sides' connection info: where to
// send punch datagrams, and which endpoints to dial with which path label.
// Pure functions, no I/O.

#include "messages/connection_info.hpp"
#include "messages/path_kind.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace crust {

struct punch_plan {
  struct dial {
    endpoint remote;
    path_kind path = path_kind::punched_udp;
  };
  std::vector<endpoint> punch; ///< UDP endpoints to punch towards
  std::vector<dial> dials;     ///< what to dial, best first
  /// What to dial only if `dials` have not connected after `ipv6_head_start`:
  /// when both sides have global IPv6 addresses, their IPv4 candidates
  /// (happy eyeballs, RFC 8305: a path without NAT is preferred).
  std::vector<dial> later;
};

/// How long IPv6 candidates have to themselves before IPv4 ones are dialled.
constexpr std::chrono::milliseconds ipv6_head_start{250};


/// Both sides run the same plan against each other's info: each punches
/// towards every UDP endpoint of the other and dials them; a public peer's
/// TCP endpoints are dialled directly too. Between two NATed peers whose
/// NATs map per source (cone) and keep ports, each also dials the other's
/// predicted TCP mapping from its own listening port (TCP simultaneous
/// open, `punched_tcp`), in parallel with the UDP punch. Duplicates the
/// two sides create are settled by the node's duplicate-connection rule.
punch_plan plan_traversal(const connection_info& ours, const connection_info& theirs);

/// Where a peer's NAT maps its TCP listening port, as far as its info
/// tells: its external UDP address with its listening port, when its NAT
/// is endpoint-independent and kept the UDP port (an external UDP endpoint
/// whose port is a local UDP port's). A NAT that keeps ports for UDP does
/// for TCP too (Linux masquerade, most home routers); the dial proves it.
std::optional<endpoint> predicted_tcp_mapping(const connection_info& x);

/// A node that knows no NAT class (no STUN server answered: UDP blocked)
/// but learnt from its TCP links where peers see it lists that address with
/// its listening port as an external TCP endpoint (PROTOCOL.md §9.4): where
/// a NAT that keeps ports maps the listening port. Not a way in — the NAT
/// filters unsolicited SYNs — but a target for TCP simultaneous open. This
/// returns it: class unknown, an external TCP endpoint whose port is a
/// local TCP port. (A port a gateway forwards at the same number is dialled
/// the same way and answers whatever the dialler's NAT.)
std::optional<endpoint> tcp_mapping_guess(const connection_info& x);

/// Who does what in birthday probing (nat/birthday.hpp) between us and a
/// peer.
enum class probe_role : uint8_t {
  none,   ///< no probing: punching works without, or nothing can work
  prober, ///< we are the easy side: probe ports of their address
  holder, ///< we are the hard side: hold sockets towards their mapping
};

std::string to_string(probe_role x);

/// Both ends compute the same from the two infos: a NAT that maps
/// endpoint-independently (and knows its mapping) against one that maps
/// per destination (and reported the address it maps to, PROTOCOL.md
/// §9.2), neither with a port its gateway forwards.
probe_role birthday_role(const connection_info& ours, const connection_info& theirs);

/// Ports after a sequential NAT's last mapping that punching tries
/// (besides its mapped endpoints): its next mappings take them.
constexpr size_t predicted_window = 16;

/// True when no hole can be punched: both sides map per destination
/// (symmetric) — unless both allocate ports sequentially, when each
/// predicts the other's next mapping —, or one does and the other is
/// behind a NAT too with no way to probe for the symmetric side's port (it
/// reported no address, or the other side knows no mapping of its own). A
/// relay is the way then — unless either side has a port its gateway
/// forwards (UPnP).
bool punching_hopeless(const connection_info& ours, const connection_info& theirs);

/// True when the initiator opens the relay at once rather than after the
/// punching window: punching is hopeless, or only birthday probing (over
/// the relayed link, PROTOCOL.md §9.7) can find the symmetric side's port,
/// or both sides are sequential allocators (each predicts the other's next
/// port exactly, or the punch misses). Against one sequential allocator,
/// punching tries the predicted ports first.
bool relay_at_once(const connection_info& ours, const connection_info& theirs);

/// Both behind one NAT (the same external address) on different LANs (no
/// /24 in common): a carrier-grade NAT, say. Only its hairpin, if it has
/// one, leads from one to the other — within milliseconds — so the
/// initiator opens the relay after `hairpin_wait` rather than after the
/// whole punching window.
bool same_nat_apart(const connection_info& ours, const connection_info& theirs);

constexpr std::chrono::milliseconds hairpin_wait{500};

} // namespace crust
