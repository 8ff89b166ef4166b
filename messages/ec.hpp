#pragma once

#include <cstdint>
#include <string>

namespace crust {

/// Every way an operation in crust can fail, with a stable name a test can
/// assert on and a log can print. The numeric values appear on the wire in
/// CLOSE frames (see docs), so they never change meaning once released.
enum class ec : uint8_t {
  none = 0,
  // -- framing ----------------------------------------------------------------
  frame_too_large = 1,      ///< a record length exceeds what the protocol allows
  message_too_large = 2,    ///< a message exceeds the configured maximum size
  malformed_frame = 3,      ///< a record or item does not parse
  unknown_frame_kind = 4,   ///< an item kind this version does not know
  truncated_frame = 5,      ///< input ended inside a record or item
  // -- handshake --------------------------------------------------------------
  handshake_failed = 10,       ///< the Noise handshake did not complete
  handshake_timeout = 11,      ///< the handshake took longer than allowed
  decrypt_failed = 12,         ///< AEAD authentication failed (tampering, wrong keys)
  bad_identity = 13,           ///< identity payload missing, malformed or badly signed
  protocol_version_mismatch = 14, ///< the peer speaks a version we do not
  invalid_public_key = 15,     ///< a DH produced the all-zero output (low-order point)
  self_connection = 16,        ///< the peer is ourselves
  nonce_exhausted = 17,        ///< 2^64-1 messages were sent under one key
  // -- connection -------------------------------------------------------------
  peer_timeout = 30,          ///< nothing heard from the peer within the timeout
  closed_by_peer = 31,        ///< the peer closed the connection without a reason
  connect_failed = 32,        ///< the TCP connect did not succeed
  io_error = 33,              ///< a socket operation failed
  dropped = 34,               ///< the routing layer asked to drop the peer
  duplicate_connection = 35,  ///< another connection to the same peer won
  shutting_down = 36,         ///< the node is stopping
  blacklisted = 37,           ///< the peer or its address is blacklisted
  send_queue_full = 38,       ///< the per-connection send queue is at its limit
  not_connected = 39,         ///< no connection to that peer
  address_in_use = 40,        ///< the listening port is taken
  invalid_argument = 41,      ///< a malformed endpoint, peer id or option
  too_many_connections = 42,  ///< the connection limit is reached
  not_listening = 43,         ///< stop_listening while no acceptor runs
  unsupported = 44,           ///< the peer does not support what was asked
  bad_record = 45,            ///< a discovery record or list failed validation
  corrupt_file = 46,          ///< a file on disk is not what it should be
  unreachable = 47,           ///< no path to the peer: every traversal method failed
  rate_limited = 48,          ///< the address or peer exceeded a configured rate
  not_allowed = 49,           ///< whitelist mode: the address is not listed
};

/// The name of `x`, e.g. "peer_timeout".
inline std::string to_string(ec x) {
  switch (x) {
    case ec::none: return "none";
    case ec::unsupported: return "unsupported";
    case ec::bad_record: return "bad_record";
    case ec::corrupt_file: return "corrupt_file";
    case ec::unreachable: return "unreachable";
    case ec::rate_limited: return "rate_limited";
    case ec::not_allowed: return "not_allowed";
    case ec::frame_too_large: return "frame_too_large";
    case ec::message_too_large: return "message_too_large";
    case ec::malformed_frame: return "malformed_frame";
    case ec::unknown_frame_kind: return "unknown_frame_kind";
    case ec::truncated_frame: return "truncated_frame";
    case ec::handshake_failed: return "handshake_failed";
    case ec::handshake_timeout: return "handshake_timeout";
    case ec::decrypt_failed: return "decrypt_failed";
    case ec::bad_identity: return "bad_identity";
    case ec::protocol_version_mismatch: return "protocol_version_mismatch";
    case ec::invalid_public_key: return "invalid_public_key";
    case ec::self_connection: return "self_connection";
    case ec::nonce_exhausted: return "nonce_exhausted";
    case ec::peer_timeout: return "peer_timeout";
    case ec::closed_by_peer: return "closed_by_peer";
    case ec::connect_failed: return "connect_failed";
    case ec::io_error: return "io_error";
    case ec::dropped: return "dropped";
    case ec::duplicate_connection: return "duplicate_connection";
    case ec::shutting_down: return "shutting_down";
    case ec::blacklisted: return "blacklisted";
    case ec::send_queue_full: return "send_queue_full";
    case ec::not_connected: return "not_connected";
    case ec::address_in_use: return "address_in_use";
    case ec::invalid_argument: return "invalid_argument";
    case ec::too_many_connections: return "too_many_connections";
    case ec::not_listening: return "not_listening";
  }
  return "unknown_error(" + std::to_string(static_cast<int>(x)) + ")";
}

} // namespace crust
