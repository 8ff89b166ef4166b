#pragma once

#include "discovery/discovery_config.hpp"
#include "messages/interfaces.hpp"
#include "messages/peer_record.hpp"
#include "transport/datagram_socket.hpp"
#include "transport/identity.hpp"
#include "transport/io_runtime.hpp"
#include "transport/logger.hpp"

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>

namespace crust {

using beacon_tick_atom = caf::atom_constant<caf::atom("btick")>;

/// A datagram one of the beacon's sockets received.
struct beacon_datagram {
  bytes data;
  std::string from_address; ///< numeric, with %scope for IPv6 link-local
  uint16_t from_port = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, beacon_datagram& x) {
  return f(caf::meta::type_name("beacon_datagram"), x.data, x.from_address, x.from_port);
}

using beacon_impl = beacon_actor::extend<
  caf::reacts_to<beacon_datagram>,
  caf::reacts_to<beacon_tick_atom>>;

struct beacon_state {
  using clock = std::chrono::steady_clock;

  std::shared_ptr<io_runtime> runtime; // first: sockets live on its loop
  discovery_config cfg;
  std::string network;
  std::shared_ptr<const identity> id;
  bootstrap_store_actor store;
  routing_actor routing;
  logger_ptr log;
  std::vector<std::shared_ptr<datagram_socket>> sockets;
  std::shared_ptr<datagram_socket> send_v4; ///< our own port: sends, hears answers
  std::shared_ptr<datagram_socket> send_v6;
  std::optional<peer_record> record;        ///< nothing to announce until listening
  std::map<std::string, clock::time_point> answered;  ///< per source: last answer
  std::map<peer_id, std::pair<clock::time_point, std::vector<endpoint>>> reported;
  clock::time_point window_start;
  size_t window_datagrams = 0;   ///< received in the current second
  size_t window_answers = 0;     ///< answers sent in the current second
  uint64_t dropped = 0;          ///< over the receive limit, since the last alert
  uint64_t forged = 0;           ///< forged beacons, since the last alert
  clock::time_point last_alert;

  ~beacon_state() {
    for (auto& s : sockets)
      s->close();
  }

  explicit beacon_state(caf::local_actor*) {}
  static inline const char* name = "crust.beacon";
};

using beacon_pointer = beacon_impl::stateful_pointer<beacon_state>;

/// The LAN beacon: binds the beacon port (shared with other nodes on the
/// host), announces our signed record by IPv4 broadcast and/or IPv6
/// link-local multicast, answers queries (rate-limited, never larger than
/// the query), and reports peers it hears of as `peer_discovered`.
beacon_impl::behavior_type beacon(beacon_pointer self, std::shared_ptr<io_runtime> runtime,
                                  discovery_config cfg, std::string network,
                                  std::shared_ptr<const identity> id,
                                  bootstrap_store_actor store, routing_actor routing,
                                  logger_ptr log);

} // namespace crust
