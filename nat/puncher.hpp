#pragma once

#include "messages/interfaces.hpp"
#include "nat/birthday.hpp"
#include "nat/nat_classifier.hpp"
#include "nat/nat_config.hpp"
#include "nat/observed_addresses.hpp"
#include "nat/punch_plan.hpp"
#include "nat/reachability_codec.hpp"
#include "nat/reachability_record.hpp"
#include "nat/relay_table.hpp"
#include "nat/stun_transaction.hpp"
#include "nat/port_mapper.hpp"
#include "transport/logger.hpp"

#include <caf/atom.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace crust {

using nat_tick_atom = caf::atom_constant<caf::atom("ntick")>;
using stun_refresh_atom = caf::atom_constant<caf::atom("nstun")>;
using upnp_renew_atom = caf::atom_constant<caf::atom("nupnp")>;
using relay_upgrade_atom = caf::atom_constant<caf::atom("nupgrade")>;

using puncher_impl = nat_actor::extend<caf::reacts_to<nat_tick_atom>,
                                       caf::reacts_to<stun_refresh_atom>,
                                       caf::reacts_to<upnp_renew_atom>,
                                       caf::reacts_to<relay_upgrade_atom, peer_id, uint64_t>>;

struct puncher_state {
  using clock = std::chrono::steady_clock;

  /// One attempt to reach a peer through its NAT (and ours).
  struct traversal {
    bool initiator = true;
    std::optional<peer_id> through;  ///< the rendezvous peer, if any
    uint64_t nonce = 0;
    std::optional<connection_info> theirs; ///< once their info arrived
    std::vector<endpoint> punch;     ///< where to punch, planned once
    std::vector<punch_plan::dial> later; ///< IPv4 dials behind IPv6 ones
    clock::time_point later_at;      ///< ... dialled then, if still not connected
    bool offered = false;            ///< our info went out
    clock::time_point started;
    clock::time_point deadline;
    clock::time_point punch_until;
    clock::time_point next_punch;
    std::optional<clock::time_point> relay_at; ///< initiator: when to try the relay
    std::optional<clock::time_point> retry_at; ///< initiator: when to ask again
    int asked = 0;                   ///< introductions requested
    bool relaying = false;
    /// Moving a relayed link to a direct path (PROTOCOL.md §9.6): the info
    /// goes straight to the peer over that link (`through` is the peer),
    /// there is no relay to fall back on, and a failure is ours alone.
    bool upgrade = false;
    /// Birthday probing (upgrades only: the peer proved its identity over
    /// the relayed link): our part, and its schedule.
    probe_role role = probe_role::none;
    std::optional<port_probe> probing; ///< prober: ports of `probe_address`
    std::string probe_address;
    std::optional<pacer> holding;      ///< holder: sockets still to open
    endpoint hold_target;              ///< holder: their mapping
    uint32_t held = 0;                 ///< holder: sockets the node opened for us
  };

  /// A connected peer whose link is relayed.
  struct relayed_link {
    bool ours = false;                ///< we opened it, so we ask for upgrades
    std::chrono::milliseconds wait{0}; ///< until the next upgrade attempt
    uint64_t generation = 0;          ///< of the attempt timer that counts
  };

  nat_config cfg;
  peer_id self_id;
  nat_host_actor host;
  routing_actor routing;
  logger_ptr log;

  std::vector<endpoint> listening;  ///< our endpoints (TCP and UDP)
  std::optional<endpoint> udp_local;
  nat_classifier classifier;         ///< from STUN servers
  observed_addresses observed;       ///< from connected peers
  std::vector<std::string> local_addresses;
  std::vector<stun_transaction> probes; ///< the current round
  std::vector<uint64_t> info_tokens;    ///< prepare_connection_info awaiting the round
  std::set<peer_id> connected;
  std::map<peer_id, traversal> traversals;
  std::map<peer_id, relayed_link> relayed;
  /// When each peer last had us probe or hold sockets: at most one birthday
  /// attempt per peer per `birthday_interval`, whoever asks.
  std::map<peer_id, clock::time_point> last_birthday;
  uint64_t next_generation = 1;
  std::map<peer_id, std::deque<clock::time_point>> introductions; ///< served, per requester
  clock::time_point answer_window;
  size_t answers_in_window = 0;
  bool ticking = false;
  nat_status counters;
  std::optional<relay_table> relays; ///< when we serve as a relay
  port_mapper_actor upnp;            ///< when UPnP is on (detached)
  std::string upnp_status = "off";
  std::vector<endpoint> upnp_mapped;
  clock::time_point next_relay_expiry;

  // -- reachability checks ------------------------------------------------------
  /// Where each connected peer connects from (not for relayed links): a
  /// check's dial-backs go only there.
  std::map<peer_id, std::string> peer_addresses;
  reachability_record reachability;      ///< what peers found of ours
  std::set<peer_id> check_peers;         ///< connected nodes (not relayed): who may check us
  std::set<peer_id> checked_by;          ///< peers we asked
  std::set<endpoint> checked_endpoints;  ///< endpoints some check of ours covered
  std::map<uint64_t, peer_id> checks_out; ///< our checks awaiting results, by nonce
  /// A peer's check we serve: its dial-backs under way.
  struct served_check {
    peer_id requester;
    reachability_msg result;
    size_t pending = 0;
  };
  std::map<uint64_t, served_check> served;                      ///< by our key
  std::map<uint64_t, std::pair<uint64_t, size_t>> probe_slots;  ///< probe id -> (key, index)
  std::map<peer_id, clock::time_point> last_served;
  uint64_t next_key = 1;

  explicit puncher_state(caf::local_actor*) {}
  static inline const char* name = "crust.puncher";
};

using puncher_pointer = puncher_impl::stateful_pointer<puncher_state>;

/// The NAT puncher: learns our external UDP endpoint and NAT class from STUN
/// servers over the node's own UDP socket; answers peers' binding checks;
/// serves as a rendezvous point carrying connection info between two of its
/// peers; and runs traversals (punch, then dial every candidate; the node's
/// duplicate rule keeps one link); and tries to move relayed links we opened
/// to a path of their own later (PROTOCOL.md §9.6). Outcomes: `connection_up` with its path
/// (from the node), or `traversal_failed` to the routing layer.
puncher_impl::behavior_type puncher(puncher_pointer self, nat_config cfg, peer_id self_id,
                                    nat_host_actor host, routing_actor routing, logger_ptr log);

/// Our connection info from what the puncher knows now (without TCP
/// endpoints reachability checks found unreachable).
connection_info current_info(const puncher_state& st);

/// All of it, as a reachability check asks about it.
connection_info current_info_unfiltered(const puncher_state& st);

} // namespace crust
