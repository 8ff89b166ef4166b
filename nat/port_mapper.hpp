#pragma once

// Port mapping on the LAN's gateway: UPnP IGD (miniupnpc), else NAT-PMP
// (libnatpmp, RFC 6886). Their calls block (SSDP discovery, SOAP over HTTP,
// NAT-PMP retries), so the mapper is an actor of its own on a detached
// thread, and every attempt has a time budget: a router that lies or never
// answers delays only this actor, never the node's start-up.

#include "messages/endpoint.hpp"
#include "transport/logger.hpp"

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace crust {

using port_map_atom = caf::atom_constant<caf::atom("upmap")>;
using port_unmap_atom = caf::atom_constant<caf::atom("upunmap")>;

struct mapping_request {
  std::vector<endpoint> ports;     ///< our listening endpoints (TCP, UDP) to map
  uint32_t lease_seconds = 3600;
  uint32_t discover_ms = 2000;     ///< budget of each method's discovery
};

struct mapping_result {
  std::string method;          ///< "UPnP" or "NAT-PMP" (what mapped), empty if none
  bool found = false;          ///< a gateway answered
  bool connected = false;      ///< it calls itself connected (miniupnpc returned 1, not 2)
  std::string lan_address;     ///< our address as the gateway sees it
  std::string external_address;
  std::vector<endpoint> mapped; ///< external endpoints now forwarded to us
  std::string error;           ///< why nothing (or not everything) was mapped
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mapping_request& x) {
  return f(caf::meta::type_name("mapping_request"), x.ports, x.lease_seconds, x.discover_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mapping_result& x) {
  return f(caf::meta::type_name("mapping_result"), x.method, x.found, x.connected, x.lan_address,
           x.external_address, x.mapped, x.error);
}

/// Maps (or renews) ports — UPnP first, NAT-PMP when no UPnP gateway
/// answers — and answers what it got; unmap removes every mapping it made,
/// then the actor quits.
using port_mapper_actor = caf::typed_actor<
  caf::replies_to<port_map_atom, mapping_request>::with<mapping_result>,
  caf::reacts_to<port_unmap_atom>>;

struct port_mapper_state {
  struct gateway; // miniupnpc's URLs and service data, kept between calls
  std::shared_ptr<gateway> igd;
  std::vector<endpoint> mapped; ///< external endpoints (their ports = ours)
  bool natpmp = false;          ///< mapped with NAT-PMP (unmap the same way)
  logger_ptr log;
  explicit port_mapper_state(caf::local_actor*) {}
  static inline const char* name = "crust.port_mapper";
};

/// Spawn it detached: every call blocks. (It takes the log so that CAF 0.17
/// has an argument to pass: spawning a function actor without one
/// dereferences a null pointer inside CAF, which UBSan reports.)
port_mapper_actor::behavior_type
port_mapper(port_mapper_actor::stateful_pointer<port_mapper_state> self, logger_ptr log);

} // namespace crust
