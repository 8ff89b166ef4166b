#pragma once

// Forward declarations of crust's message vocabulary.

namespace crust {

struct peer_id;
struct endpoint;
struct connection_info;
struct peer_info;
struct node_info;
struct node_stats;
struct blacklist_entry;
struct bootstrap_entry;
struct peer_record;
struct service_in;
struct service_out;
struct peer_discovered;
struct bootstrap_status;

// To the routing layer.
struct connection_up;
struct connection_down;
struct path_changed;
struct message;
struct message_batch;
struct listening;
struct alert;
struct connect_failed;
struct send_failed;

// From the routing layer.
struct connect;
struct send;
struct maintain;
struct drop;
struct blacklist;
struct reconfigure;

} // namespace crust
