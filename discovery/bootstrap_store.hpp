#pragma once

#include "discovery/bootstrap_cache.hpp"
#include "discovery/bootstrap_plan.hpp"
#include "discovery/discovery_config.hpp"
#include "messages/interfaces.hpp"
#include "transport/identity.hpp"
#include "transport/logger.hpp"

#include <caf/atom.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace crust {

using store_tick_atom = caf::atom_constant<caf::atom("stick")>;
using store_save_atom = caf::atom_constant<caf::atom("ssave")>;
using cache_load_atom = caf::atom_constant<caf::atom("cload")>;
using cache_write_atom = caf::atom_constant<caf::atom("cwrite")>;
using cache_aside_atom = caf::atom_constant<caf::atom("caside")>;
using cache_stop_atom = caf::atom_constant<caf::atom("cstop")>;

/// Does the cache file's blocking I/O on its own thread (spawn it detached).
/// Load answers (status, text): 0 ok, 1 missing, 2 unreadable (text: why).
using cache_writer_actor = caf::typed_actor<
  caf::replies_to<cache_load_atom>::with<int, std::string>,
  caf::reacts_to<cache_write_atom, std::string>,
  caf::replies_to<cache_aside_atom>::with<std::string>,
  caf::reacts_to<cache_stop_atom>>;

cache_writer_actor::behavior_type cache_writer(cache_writer_actor::pointer self, std::string path,
                                               logger_ptr log);

/// The bootstrap store's full interface: the public one plus its timers.
using bootstrap_store_impl = bootstrap_store_actor::extend<
  caf::reacts_to<store_tick_atom>,
  caf::reacts_to<store_save_atom>>;

struct bootstrap_store_state {
  discovery_config cfg;
  std::string network;
  peer_id self_id;
  discovery_host_actor host;
  routing_actor routing;
  logger_ptr log;
  std::optional<cache_writer_actor> writer;
  bootstrap_cache cache;
  std::optional<bootstrap_plan> plan;  ///< once the cache is loaded
  std::optional<bootstrap_state> reported;
  bool save_scheduled = false;
  bool stopped = false;                ///< the routing layer stopped bootstrapping
  bool dirty = false;
  std::set<peer_id> connected;
  std::set<peer_id> asked;             ///< peers whose list we await
  std::map<peer_id, std::chrono::steady_clock::time_point> answered;
  /// Discoveries that arrived before the cache was loaded.
  std::vector<bootstrap_plan::candidate> early;

  explicit bootstrap_store_state(caf::local_actor*) {}
  static inline const char* name = "crust.bootstrap_store";
};

using bootstrap_store_pointer = bootstrap_store_impl::stateful_pointer<bootstrap_store_state>;

/// The bootstrap store: loads the cache, bootstraps (cache first, then the
/// fallback contacts), records peers we connected to directly, serves our
/// list and merges the lists peers send.
bootstrap_store_impl::behavior_type
bootstrap_store(bootstrap_store_pointer self, discovery_config cfg, std::string network,
                peer_id self_id, discovery_host_actor host, routing_actor routing,
                logger_ptr log);

} // namespace crust
