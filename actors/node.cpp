#include "actors/node.hpp"

#include "actors/error.hpp"
#include "actors/enqueue_anonymous.hpp"
#include "actors/manager.hpp"
#include "transport/io_runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>

#include <sodium.h>

#include <stdexcept>

namespace crust {

namespace {

node_actor spawn_manager(caf::actor_system& sys, const node_config& cfg, const identity& id,
                         routing_actor routing, delivery mode) {
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium failed to initialise");
  auto runtime = cfg.runtime ? cfg.runtime : std::make_shared<io_runtime>(cfg.io_threads);
  auto self_id = std::make_shared<const identity>(id);
  return sys.spawn(manager, std::move(runtime), cfg, std::move(self_id), std::move(routing),
                   mode);
}

} // namespace

node_actor spawn_node(caf::actor_system& sys, const node_config& cfg, const identity& id,
                      routing_actor routing) {
  return spawn_manager(sys, cfg, id, std::move(routing), delivery::each);
}

node_actor spawn_batching_node(caf::actor_system& sys, const node_config& cfg,
                               const identity& id, batch_routing_actor routing) {
  return spawn_manager(sys, cfg, id, routing_actor{std::move(routing)}, delivery::batched);
}

void add_crust_types(caf::actor_system_config& cfg) {
  cfg.add_error_category(error_category, [](uint8_t code, caf::atom_value, const caf::message&) {
    return "crust." + to_string(static_cast<ec>(code));
  });
}

void tune_scheduler(caf::actor_system_config& cfg) {
  caf::string_view key = "work-stealing.moderate-poll-attempts";
  if (caf::get_if(&cfg.content, key) == nullptr)
    cfg.set(key, int64_t{0});
}

void post(caf::scheduled_actor* self, const node_actor& node, send x) {
  if (!node)
    return;
  enqueue_anonymous(self, node, std::move(x));
}

} // namespace crust
