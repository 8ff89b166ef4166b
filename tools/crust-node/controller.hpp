#pragma once

#include "messages/interfaces.hpp"
#include "node_options.hpp"
#include "status_page.hpp"
#include "xor_policy.hpp"

#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace crust {

/// A line read from the control channel. `receipt` goes with the message:
/// once the controller is done with the line, the reader may read more
/// (local only, never serialized).
struct control_line {
  std::string text;
  std::shared_ptr<void> receipt{};
};

/// The control channel ended (EOF or a signal): shut the node down.
struct input_closed {};

/// SIGHUP: the configuration file re-read — a plan for the node, or why it
/// was refused (`plan` null; the node keeps its settings). The plan stays
/// local (never serialized).
struct reload_request {
  std::shared_ptr<const reload_plan> plan;
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reload_request& x) {
  return f(caf::meta::type_name("reload_request"), x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, control_line& x) {
  return f(caf::meta::type_name("control_line"), x.text);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, input_closed&) {
  return f(caf::meta::type_name("input_closed"));
}

using policy_tick_atom = caf::atom_constant<caf::atom("ptick")>;
using status_tick_atom = caf::atom_constant<caf::atom("stick")>;

/// What the controller publishes for `metrics-address`: the board the HTTP
/// listener reads, and the node's id and version for the documents.
struct status_config {
  std::shared_ptr<status_board> board;
  peer_id id;
  std::string version;
};

/// crust-node's routing layer: prints every event as a JSON line and turns
/// command lines into messages for the node. By default it never decides on
/// its own which connections to keep; the script driving it does. Given an
/// `xor_policy` (`--routing=xor`), it also keeps the peers that policy
/// chooses, deciding once per `policy_interval`.
using controller_actor = routing_actor::extend<
  caf::reacts_to<control_line>,
  caf::reacts_to<input_closed>,
  caf::reacts_to<reload_request>,
  caf::reacts_to<node_actor>,
  caf::reacts_to<policy_tick_atom>,
  caf::reacts_to<status_tick_atom>>;

struct controller_state {
  node_actor node;
  std::function<void(const std::string&)> emit; ///< writes one line out
  bool stopping = false;
  std::optional<xor_policy> policy;
  size_t last_chosen_up = SIZE_MAX; ///< reported in a "routing" event when it changes
  /// With `metrics-address`: where the snapshot goes, and the snapshot's
  /// running parts (alerts by kind, bootstrap state, RTT histogram).
  std::shared_ptr<status_board> board;
  metrics_input snapshot;
  static inline const char* name = "crust.controller";
};

/// How often the status board is refreshed.
constexpr auto status_interval = std::chrono::milliseconds(1000);

/// How often a routing policy decides.
constexpr auto policy_interval = std::chrono::milliseconds(1000);

using controller_pointer = controller_actor::stateful_pointer<controller_state>;

/// The controller; it quits (after an `{"event":"stopped"}` line) once the
/// node it is given has terminated.
controller_actor::behavior_type controller(controller_pointer self,
                                           std::function<void(const std::string&)> emit,
                                           std::optional<xor_policy> policy = std::nullopt,
                                           std::optional<status_config> status = std::nullopt);

} // namespace crust
