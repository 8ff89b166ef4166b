#pragma once

// Forward declarations of discovery's pieces.

namespace crust {

struct discovery_config;
class bootstrap_cache;
class bootstrap_plan;
class gossip_table;
struct beacon_packet;
struct beacon_state;
struct bootstrap_store_state;
struct gossip_state;

} // namespace crust
