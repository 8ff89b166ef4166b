#pragma once

// Forward declarations of the transport layer: the sans-I/O protocol cores and
// the thin Boost.Asio adapters beneath them.

namespace crust {

class identity;
class frame_decoder;
class secure_channel;
class stream_session;
struct session_config;

class io_runtime;
class tcp_stream;
class tcp_listener;

namespace noise {
class cipher_state;
class symmetric_state;
class handshake_state;
struct handshake_pattern;
} // namespace noise

} // namespace crust
