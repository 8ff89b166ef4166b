#pragma once

// The embedding API: run a crust node inside your own caf::actor_system.
//
//   auto id = crust::identity::generate();           // or load_or_create_identity
//   crust::node_config cfg;                           // network, port, contacts, ...
//   auto routing = sys.spawn(my_routing_actor);       // a crust::routing_actor
//   auto node = crust::spawn_node(sys, cfg, id, routing);
//   anon_send(node, crust::connect{*crust::parse_endpoint("127.0.0.1:5483")});
//
// The node reports to `routing` (connection_up, message, ...) and takes
// commands (send, maintain, drop, blacklist, ...) as typed messages. Send it
// `shutdown_atom` to close every connection gracefully and stop; it also stops
// when the routing actor terminates.

#include "actors/node_config.hpp"
#include "messages/interfaces.hpp"
#include "transport/identity.hpp"

#include <caf/fwd.hpp>

namespace crust {

/// Spawns a node: a manager actor with its own Asio event loop, an acceptor
/// (unless the node is a client or `cfg.listen` is off) and a connection
/// actor per link. Dials `cfg.contacts` at once.
node_actor spawn_node(caf::actor_system& sys, const node_config& cfg, const identity& id,
                      routing_actor routing);

/// The same, for a routing layer that takes messages in batches: the node
/// delivers each peer's messages as `message_batch`es (see there), never as
/// single `message`s. (A name of its own: an actor whose interface is wider
/// than both would make an overload of `spawn_node` ambiguous.)
node_actor spawn_batching_node(caf::actor_system& sys, const node_config& cfg,
                               const identity& id, batch_routing_actor routing);

/// Registers crust's error category (so errors print as "crust.peer_timeout"
/// and the like) with a CAF configuration. Optional.
void add_crust_types(caf::actor_system_config& cfg);

/// Tunes CAF's scheduler for a node's latency; call it before creating the
/// actor system. CAF 0.17's idle workers first poll their queue every 50 µs
/// for 500 rounds (sleeping in between, unwakeable) and only then wait on a
/// condition variable that an enqueue signals. A message from crust's I/O
/// threads to an actor thus waits up to a poll interval plus timer slack
/// for a worker, at every network hop. This turns the polling rounds off
/// (`work-stealing.moderate-poll-attempts = 0`): an idle worker spins briefly,
/// then sleeps until woken. Measured with crust-bench, 64 B round trip
/// through both nodes: p50 214 µs -> 94-145 µs, and workers no longer wake
/// every 50 µs when idle. A value the configuration set already is kept.
void tune_scheduler(caf::actor_system_config& cfg);

/// Hands `x` to `node` from the actor `self`, as `self->send(node, x)` does
/// (in order after `self`'s earlier messages to it; the node runs next on
/// `self`'s worker when idle), but without naming `self` as the sender:
/// `send` has no reply, and a sender is a reference count on `self` taken
/// here and dropped on the node's thread, a cache line moved between cores
/// at every message. For routing layers that send at high rates (64 B
/// messages through crust-bench: about 6 % more per second). Does nothing
/// when `node` is invalid.
void post(caf::scheduled_actor* self, const node_actor& node, send x);

} // namespace crust
