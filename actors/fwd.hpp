#pragma once

// Forward declarations of the actor layer.

namespace crust {

struct node_config;
class connection_table;
class address_blacklist;

struct stream_connected;
struct stream_data;
struct stream_written;
struct stream_ended;
struct incoming_stream;
struct connection_closing;
struct handshake_done;
struct connection_closed;

} // namespace crust
