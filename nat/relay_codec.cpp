#include "nat/relay_codec.hpp"

#include "transport/wire.hpp"

#include <algorithm>

namespace crust {

namespace {

bool valid_kind(uint8_t k) {
  return (k >= 0x01 && k <= 0x04) || (k >= 0x11 && k <= 0x15);
}

} // namespace

bytes encode(const relay_msg& x) {
  bytes out;
  out.reserve(16 + x.data.size());
  wire::put_u8(out, static_cast<uint8_t>(x.type));
  wire::put_u64(out, x.circuit);
  using k = relay_msg::kind;
  switch (x.type) {
    case k::open:
    case k::incoming:
      wire::put_peer(out, x.peer);
      break;
    case k::data:
    case k::data_out:
      wire::put_bytes(out, x.data.data(), x.data.size());
      break;
    case k::ack:
    case k::ack_out:
      wire::put_u16(out, static_cast<uint16_t>(x.n >> 16));
      wire::put_u16(out, static_cast<uint16_t>(x.n));
      break;
    case k::close:
    case k::close_out:
      wire::put_u8(out, static_cast<uint8_t>(x.reason));
      break;
    case k::opened:
      break;
  }
  return out;
}

ec decode(const bytes& data, relay_msg& out) {
  out = relay_msg{};
  wire::reader in(data);
  auto type = in.u8();
  out.circuit = in.u64();
  if (!in.ok())
    return ec::truncated_frame;
  if (!valid_kind(type))
    return ec::unknown_frame_kind;
  out.type = static_cast<relay_msg::kind>(type);
  using k = relay_msg::kind;
  switch (out.type) {
    case k::open:
    case k::incoming:
      if (!wire::get_peer(in, out.peer))
        return ec::truncated_frame;
      break;
    case k::data:
    case k::data_out: {
      if (in.left() == 0)
        return ec::truncated_frame;
      if (in.left() > max_relay_chunk)
        return ec::malformed_frame;
      auto n = in.left();
      auto p = in.take(n);
      out.data.assign(p, p + n);
      break;
    }
    case k::ack:
    case k::ack_out: {
      uint32_t hi = in.u16();
      uint32_t lo = in.u16();
      out.n = hi << 16 | lo;
      break;
    }
    case k::close:
    case k::close_out:
      out.reason = static_cast<ec>(in.u8());
      break;
    case k::opened:
      break;
  }
  if (!in.ok())
    return ec::truncated_frame;
  if (in.left() != 0)
    return ec::malformed_frame;
  return ec::none;
}

} // namespace crust
