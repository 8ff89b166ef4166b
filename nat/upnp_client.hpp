#pragma once

// UPnP IGD port mapping through miniupnpc. Its calls block (SSDP discovery,
// SOAP over HTTP), so the client is an actor of its own on a detached
// thread: a router that lies or never answers delays only this actor, never
// the node's start-up.

#include "messages/endpoint.hpp"

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

using upnp_map_atom = caf::atom_constant<caf::atom("upmap")>;
using upnp_unmap_atom = caf::atom_constant<caf::atom("upunmap")>;

struct upnp_request {
  std::vector<endpoint> ports;     ///< our listening endpoints (TCP, UDP) to map
  uint32_t lease_seconds = 3600;
  uint32_t discover_ms = 2000;     ///< how long SSDP discovery waits for answers
};

struct upnp_result {
  bool found = false;          ///< an Internet gateway device answered
  bool connected = false;      ///< it calls itself connected (miniupnpc returned 1, not 2)
  std::string lan_address;     ///< our address as the gateway sees it
  std::string external_address;
  std::vector<endpoint> mapped; ///< external endpoints now forwarded to us
  std::string error;           ///< why nothing (or not everything) was mapped
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, upnp_request& x) {
  return f(caf::meta::type_name("upnp_request"), x.ports, x.lease_seconds, x.discover_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, upnp_result& x) {
  return f(caf::meta::type_name("upnp_result"), x.found, x.connected, x.lan_address,
           x.external_address, x.mapped, x.error);
}

/// Maps (or renews) ports and answers what it got; unmap removes every
/// mapping it made, then the actor quits.
using upnp_client_actor = caf::typed_actor<
  caf::replies_to<upnp_map_atom, upnp_request>::with<upnp_result>,
  caf::reacts_to<upnp_unmap_atom>>;

struct upnp_client_state {
  struct gateway; // miniupnpc's URLs and service data, kept between calls
  std::shared_ptr<gateway> igd;
  std::vector<endpoint> mapped; ///< external endpoints (their ports = ours)
  explicit upnp_client_state(caf::local_actor*) {}
  static inline const char* name = "crust.upnp";
};

/// Spawn it detached: every call blocks.
upnp_client_actor::behavior_type
upnp_client(upnp_client_actor::stateful_pointer<upnp_client_state> self);

} // namespace crust
