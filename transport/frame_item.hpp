#pragma once

#include "messages/ec.hpp"

#include <cstddef>
#include <cstdint>

namespace crust {

/// What an item inside a decrypted frame carries. One frame holds any number
/// of whole items, so many small messages share one frame (and one AEAD
/// operation), while a large message spans frames as fragments.
enum class item_kind : uint8_t {
  data_more = 0x01, ///< a fragment of a message; more fragments follow
  data_last = 0x02, ///< the last (or only) fragment of a message
  ping = 0x10,      ///< keepalive; the peer answers with pong, echoing the body
  pong = 0x11,
  close = 0x20,     ///< graceful close; body: one byte, the reason (an `ec`)
  service = 0x30,   ///< a crust service message (bootstrap list, gossip); channel: the service
};

/// Largest body of a service item: always fits one frame beside others.
constexpr size_t max_service_body = 16384;

/// Item header: kind (u8), channel (u8, the send priority 0..3), length (u16 BE).
constexpr size_t item_header_size = 4;

/// Send priorities, and hence reassembly channels: 0 is most urgent.
constexpr uint8_t priority_levels = 4;

/// A parsed item; `body` points into the frame it came from.
struct item_view {
  item_kind kind;
  uint8_t channel;
  const uint8_t* body;
  size_t len;
};

inline void write_item_header(uint8_t* out, item_kind kind, uint8_t channel, size_t len) {
  out[0] = static_cast<uint8_t>(kind);
  out[1] = channel;
  out[2] = static_cast<uint8_t>(len >> 8);
  out[3] = static_cast<uint8_t>(len & 0xff);
}

/// Checks an item header (`header` points at `item_header_size` bytes) and
/// fills `out` from it, `body` left null. Errors: `unknown_frame_kind` for an
/// unknown kind, `malformed_frame` for a bad channel or a control item of the
/// wrong size.
inline ec read_item_header(const uint8_t* header, item_view& out) {
  auto kind = header[0];
  auto channel = header[1];
  size_t len = static_cast<size_t>(header[2]) << 8 | header[3];
  switch (static_cast<item_kind>(kind)) {
    case item_kind::data_more:
    case item_kind::data_last:
      if (channel >= priority_levels)
        return ec::malformed_frame;
      break;
    case item_kind::ping:
    case item_kind::pong:
      if (len != 8)
        return ec::malformed_frame;
      break;
    case item_kind::close:
      if (len != 1)
        return ec::malformed_frame;
      break;
    case item_kind::service:
      if (len > max_service_body)
        return ec::malformed_frame;
      break;
    default:
      return ec::unknown_frame_kind;
  }
  out = item_view{static_cast<item_kind>(kind), channel, nullptr, len};
  return ec::none;
}

/// Reads the item at `*pos` (advancing it) from a frame ending at `end`.
/// Errors: `truncated_frame` when the item overruns the frame, and those of
/// `read_item_header`.
inline ec read_item(const uint8_t*& pos, const uint8_t* end, item_view& out) {
  if (end - pos < static_cast<ptrdiff_t>(item_header_size))
    return ec::truncated_frame;
  size_t len = static_cast<size_t>(pos[2]) << 8 | pos[3];
  if (static_cast<size_t>(end - pos) - item_header_size < len)
    return ec::truncated_frame;
  item_view x;
  if (auto err = read_item_header(pos, x); err != ec::none)
    return err;
  x.body = pos + item_header_size;
  out = x;
  pos += item_header_size + x.len;
  return ec::none;
}

} // namespace crust
