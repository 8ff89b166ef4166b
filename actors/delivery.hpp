#pragma once

#include <cstdint>

namespace crust {

/// How a node hands peers' messages to its routing layer: one `message`
/// each (`spawn_node`), or `message_batch`es (`spawn_batching_node`, which
/// takes only a `batch_routing_actor`, so a routing layer never gets a batch
/// it has no handler for).
enum class delivery : uint8_t { each, batched };

} // namespace crust
