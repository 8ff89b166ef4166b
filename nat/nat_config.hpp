#pragma once

#include "messages/endpoint.hpp"
#include "nat/birthday.hpp"
#include "nat/relay_table.hpp"

#include <chrono>
#include <cstddef>
#include <vector>

namespace crust {

/// NAT traversal settings (crust-node: see README "NAT traversal").
struct nat_config {
  /// Rendezvous, punching and answering peers' binding checks. Off: the
  /// node still connects directly, it just never traverses a NAT.
  bool enabled = true;
  /// STUN servers to learn our external UDP endpoint and NAT class from.
  /// None by default: a node contacts no server it was not given. Two
  /// servers at different addresses are needed to classify the NAT.
  std::vector<endpoint> stun_servers;
  std::chrono::milliseconds stun_rto{250}; ///< first retransmission wait
  int stun_tries = 4;                      ///< requests per server per round
  /// How often the external endpoint is checked again (a NAT may change it).
  std::chrono::seconds stun_refresh{60};
  /// Punch datagrams go out this often during a traversal ...
  std::chrono::milliseconds punch_interval{100};
  /// ... for this long after both sides' info is known.
  std::chrono::milliseconds punch_duration{3000};
  /// TCP simultaneous open beside the UDP punch: the listener shares its
  /// port (SO_REUSEPORT) so punch dials can leave from it.
  bool tcp_punch = true;
  /// A traversal not connected after this long has failed.
  std::chrono::milliseconds traversal_timeout{10000};
  /// Carry other peers' connection info (be a rendezvous point).
  bool serve_rendezvous = true;
  /// Introductions one peer may ask of us per minute.
  size_t introductions_per_minute = 30;
  /// STUN binding requests answered per second on our UDP socket (peers'
  /// punches and checks): bounded, a reflector must not be an amplifier.
  size_t binding_answers_per_second = 100;
  /// Reachability checks (PROTOCOL.md §9.5): ask this many connected
  /// peers to dial us back on our endpoints (0: never ask) ...
  size_t reachability_peers = 3;
  /// ... and answer peers' checks, at most one per peer this often.
  bool serve_reachability = true;
  std::chrono::seconds reachability_interval{5};  ///< ask again at most this often
  /// Relay circuits for peers that cannot reach each other otherwise.
  /// Off by default: relaying costs us bandwidth; turn it on for public
  /// nodes that agree to it.
  bool serve_relay = false;
  relay_limits relay;  ///< limits of the relay we offer
  /// Traversals that may end up relayed go through the rendezvous peer's
  /// relay when punching has not connected after `punch_duration` (at once
  /// when punching cannot work).
  bool use_relay = true;
  /// A relayed link tries for a direct path this long after it came up
  /// (PROTOCOL.md §9.6): the two ends trade connection info over the link
  /// itself and punch; the waits double up to `relay_upgrade_max`. Zero:
  /// a relayed link stays relayed.
  std::chrono::milliseconds relay_upgrade{30000};
  std::chrono::milliseconds relay_upgrade_max{600000};  ///< the longest wait between upgrade attempts
  /// Birthday probing (NAT-TRAVERSAL.md "Hard NATs"): a relayed link between
  /// an endpoint-independent NAT and a per-destination one tries its first
  /// upgrade this soon instead of after `relay_upgrade`, and that attempt
  /// probes for the hard side's port within `birthday` (zero probes or
  /// sockets: no probing, and the link waits like any other).
  std::chrono::milliseconds birthday_delay{1000};
  probe_budget birthday;  ///< how much one birthday-probing attempt may send
  /// One birthday attempt per peer this often, at most (a peer asking for
  /// upgrades over and over gets plain ones in between): what one peer can
  /// make us send is bounded per minute, not only per attempt.
  std::chrono::milliseconds birthday_interval{30000};
  /// Ask the LAN's UPnP gateway to forward our TCP and UDP ports (SSDP
  /// multicast on the LAN: off by default, like every other outreach).
  bool upnp = false;
  uint32_t upnp_lease_seconds = 3600;  ///< renewed at half-time
  uint32_t upnp_discover_ms = 2000;  ///< how long UPnP discovery may take
};

} // namespace crust
