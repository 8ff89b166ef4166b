#pragma once

#include <cstdint>

namespace crust {

/// How a node hands peers' messages to its routing layer: one `message`
/// each, or `message_batch`es (for a `batch_routing_actor`). Chosen by the
/// type of the routing actor given to `spawn_node`, so a routing layer never
/// gets a batch it has no handler for.
enum class delivery : uint8_t { each, batched };

} // namespace crust
