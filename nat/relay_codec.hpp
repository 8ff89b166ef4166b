#pragma once

// Relay messages (service `relay`, docs/PROTOCOL.md §9). A relay node joins
// two circuits, one per end, and copies bytes between them; the two ends run
// their own Noise session inside, so the relay reads nothing.
//
//   from an end to the relay              from the relay to an end
//   OPEN   0x01 | circuit u64 | target[32] INCOMING 0x11 | circuit u64 | source[32]
//   DATA   0x02 | circuit u64 | bytes      OPENED   0x12 | circuit u64
//   ACK    0x03 | circuit u64 | n u32      DATA     0x13 | circuit u64 | bytes
//   CLOSE  0x04 | circuit u64 | reason u8  ACK      0x14 | circuit u64 | n u32
//                                          CLOSE    0x15 | circuit u64 | reason u8
//
// Circuit ids are chosen by whoever opens: the end for OPEN, the relay for
// INCOMING; each side keys circuits by (peer, id). ACK returns receive
// credit end to end: a sender keeps at most a window of unacknowledged bytes
// in flight, so the relay's queues stay bounded.

#include "messages/bytes.hpp"
#include "messages/ec.hpp"
#include "messages/peer_id.hpp"

#include <cstdint>

namespace crust {

/// Bytes one DATA message carries at most (a service item's body is at most
/// 16 KiB).
constexpr size_t max_relay_chunk = 16 * 1024 - 64;

/// Bytes an end may have sent on a circuit but not yet seen ACKed
/// (PROTOCOL.md §9.3). The relay holds each end to it: what it forwards
/// beyond the window, the far end never asked for.
constexpr size_t relay_window = 256 * 1024;

struct relay_msg {
  enum class kind : uint8_t {
    open = 0x01,
    data = 0x02,
    ack = 0x03,
    close = 0x04,
    incoming = 0x11,
    opened = 0x12,
    data_out = 0x13,
    ack_out = 0x14,
    close_out = 0x15,
  };
  kind type = kind::open;
  uint64_t circuit = 0;
  peer_id peer;         ///< open: target; incoming: source
  bytes data;           ///< data, data_out
  uint32_t n = 0;       ///< ack, ack_out
  ec reason = ec::none; ///< close, close_out

  /// Sent by an end (handled by the relay) rather than by the relay.
  bool to_relay() const { return static_cast<uint8_t>(type) < 0x10; }
};

bytes encode(const relay_msg& x);

/// Errors: truncated_frame, malformed_frame (trailing bytes, oversized data),
/// unknown_frame_kind.
ec decode(const bytes& data, relay_msg& out);

} // namespace crust
