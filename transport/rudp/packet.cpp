#include "transport/rudp/packet.hpp"

#include "transport/wire.hpp"

#include <algorithm>
#include <cstring>

namespace crust::rudp {

namespace {

void put_cid(bytes& out, const cid& x) {
  out.insert(out.end(), x.begin(), x.end());
}

bool get_cid(wire::reader& in, cid& x) {
  auto p = in.take(x.size());
  if (!p)
    return false;
  std::copy(p, p + x.size(), x.begin());
  return true;
}

void put_u32(bytes& out, uint32_t x) {
  for (int i = 3; i >= 0; --i)
    out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

uint32_t get_u32(wire::reader& in) {
  auto p = in.take(4);
  if (!p)
    return 0;
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16
         | static_cast<uint32_t>(p[2]) << 8 | p[3];
}

/// The type byte and the two connection ids that start RETRY, HANDSHAKE
/// and ABORT packets.
bool get_ids(wire::reader& in, packet_type type, cid& dcid, cid& scid) {
  return in.u8() == static_cast<uint8_t>(type) && get_cid(in, dcid) && get_cid(in, scid);
}

void put_ids(bytes& out, packet_type type, const cid& dcid, const cid& scid) {
  wire::put_u8(out, static_cast<uint8_t>(type));
  put_cid(out, dcid);
  put_cid(out, scid);
}

} // namespace

std::optional<peek_result> peek(const uint8_t* data, size_t len) {
  if (len < 1 + 8)
    return std::nullopt;
  auto type = data[0];
  size_t at = type == static_cast<uint8_t>(packet_type::initial) ? 2 : 1;
  if (type < 1 || type > 5 || len < at + 8)
    return std::nullopt;
  peek_result r{static_cast<packet_type>(type), {}};
  std::copy(data + at, data + at + 8, r.dcid.begin());
  return r;
}

bytes encode(const initial_packet& x) {
  bytes out;
  wire::put_u8(out, static_cast<uint8_t>(packet_type::initial));
  wire::put_u8(out, version);
  put_cid(out, x.dcid);
  put_cid(out, x.scid);
  wire::put_u8(out, static_cast<uint8_t>(x.token.size()));
  out.insert(out.end(), x.token.begin(), x.token.end());
  wire::put_u16(out, static_cast<uint16_t>(x.noise.size()));
  out.insert(out.end(), x.noise.begin(), x.noise.end());
  if (out.size() < min_initial_size)
    out.resize(min_initial_size, 0);
  return out;
}

bytes encode(const retry_packet& x) {
  bytes out;
  put_ids(out, packet_type::retry, x.dcid, x.scid);
  wire::put_u8(out, static_cast<uint8_t>(x.token.size()));
  out.insert(out.end(), x.token.begin(), x.token.end());
  return out;
}

bytes encode(const handshake_packet& x) {
  bytes out;
  put_ids(out, packet_type::handshake, x.dcid, x.scid);
  wire::put_u16(out, static_cast<uint16_t>(x.noise.size()));
  out.insert(out.end(), x.noise.begin(), x.noise.end());
  return out;
}

ec decode(const uint8_t* data, size_t len, initial_packet& out) {
  wire::reader in{data, len};
  if (in.u8() != static_cast<uint8_t>(packet_type::initial))
    return ec::malformed_frame;
  auto v = in.u8();
  if (!in.ok())
    return ec::malformed_frame;
  if (v != version)
    return ec::protocol_version_mismatch;
  initial_packet x;
  if (!get_cid(in, x.dcid) || !get_cid(in, x.scid))
    return ec::malformed_frame;
  auto tl = in.u8();
  if (tl > max_token)
    return ec::malformed_frame;
  auto t = in.take(tl);
  auto nl = in.u16();
  auto n = in.take(nl);
  if (!in.ok() || !t || !n || len < min_initial_size)
    return ec::malformed_frame;
  x.token.assign(t, t + tl);
  x.noise.assign(n, n + nl);
  out = std::move(x);
  return ec::none;
}

ec decode(const uint8_t* data, size_t len, retry_packet& out) {
  wire::reader in{data, len};
  retry_packet x;
  if (!get_ids(in, packet_type::retry, x.dcid, x.scid))
    return ec::malformed_frame;
  auto tl = in.u8();
  auto t = in.take(tl);
  if (!in.ok() || !t || tl > max_token || in.left() != 0)
    return ec::malformed_frame;
  x.token.assign(t, t + tl);
  out = std::move(x);
  return ec::none;
}

bytes encode(const abort_packet& x) {
  bytes out;
  put_ids(out, packet_type::abort, x.dcid, x.scid);
  wire::put_u8(out, static_cast<uint8_t>(x.reason));
  if (x.retry_after_ms > 0)
    put_u32(out, x.retry_after_ms);
  return out;
}

ec decode(const uint8_t* data, size_t len, abort_packet& out) {
  wire::reader in{data, len};
  abort_packet x;
  if (!get_ids(in, packet_type::abort, x.dcid, x.scid))
    return ec::malformed_frame;
  auto reason = in.u8();
  if (in.ok() && in.left() == 4)
    x.retry_after_ms = get_u32(in);
  if (!in.ok() || in.left() != 0)
    return ec::malformed_frame;
  x.reason = static_cast<ec>(reason);
  out = x;
  return ec::none;
}

ec decode(const uint8_t* data, size_t len, handshake_packet& out) {
  wire::reader in{data, len};
  handshake_packet x;
  if (!get_ids(in, packet_type::handshake, x.dcid, x.scid))
    return ec::malformed_frame;
  auto nl = in.u16();
  auto n = in.take(nl);
  if (!in.ok() || !n || in.left() != 0)
    return ec::malformed_frame;
  x.noise.assign(n, n + nl);
  out = std::move(x);
  return ec::none;
}

void put_ack(bytes& out, const ack_frame& x) {
  auto n = std::min(x.ranges.size(), max_ack_ranges);
  wire::put_u8(out, static_cast<uint8_t>(frame_type::ack));
  wire::put_u64(out, x.ranges[0].high);
  put_u32(out, x.delay_us);
  wire::put_u8(out, static_cast<uint8_t>(n - 1));
  put_u32(out, static_cast<uint32_t>(x.ranges[0].high - x.ranges[0].low));
  for (size_t i = 1; i < n; ++i) {
    put_u32(out, static_cast<uint32_t>(x.ranges[i - 1].low - x.ranges[i].high - 1));
    put_u32(out, static_cast<uint32_t>(x.ranges[i].high - x.ranges[i].low));
  }
}

void put_stream_header(bytes& out, uint64_t offset, size_t len) {
  wire::put_u8(out, static_cast<uint8_t>(frame_type::stream));
  wire::put_u64(out, offset);
  wire::put_u16(out, static_cast<uint16_t>(len));
}

void put_stream(bytes& out, uint64_t offset, const uint8_t* data, size_t len) {
  put_stream_header(out, offset, len);
  out.insert(out.end(), data, data + len);
}

void put_ping(bytes& out) {
  wire::put_u8(out, static_cast<uint8_t>(frame_type::ping));
}

void put_max_data(bytes& out, uint64_t limit) {
  wire::put_u8(out, static_cast<uint8_t>(frame_type::max_data));
  wire::put_u64(out, limit);
}

ec parse_frames(const uint8_t* data, size_t len, frames& out) {
  wire::reader in{data, len};
  // Parse into `out` itself, so a caller that reuses it keeps its vectors'
  // capacity (one DATA packet after another allocates nothing here).
  auto& f = out;
  f.ack.reset();
  f.stream.clear();
  f.max_data.reset();
  f.ack_eliciting = false;
  while (in.left() > 0) {
    auto type = in.u8();
    switch (static_cast<frame_type>(type)) {
      case frame_type::padding:
        break;
      case frame_type::ack: {
        if (f.ack)
          return ec::malformed_frame;
        ack_frame a;
        auto largest = in.u64();
        a.delay_us = get_u32(in);
        auto extra = in.u8();
        auto first = get_u32(in);
        if (!in.ok() || first > largest || extra >= max_ack_ranges)
          return ec::malformed_frame;
        a.ranges.push_back({largest - first, largest});
        for (uint8_t i = 0; i < extra; ++i) {
          auto gap = get_u32(in);
          auto n = get_u32(in);
          auto prev_low = a.ranges.back().low;
          if (!in.ok() || static_cast<uint64_t>(gap) + 1 + n > prev_low)
            return ec::malformed_frame;
          auto high = prev_low - gap - 1;
          a.ranges.push_back({high - n, high});
        }
        f.ack = std::move(a);
        break;
      }
      case frame_type::stream: {
        auto offset = in.u64();
        auto n = in.u16();
        auto p = in.take(n);
        if (!in.ok() || (!p && n > 0) || offset > (uint64_t{1} << 62))
          return ec::malformed_frame;
        f.stream.push_back({offset, p, n});
        f.ack_eliciting = true;
        break;
      }
      case frame_type::ping:
        f.ack_eliciting = true;
        break;
      case frame_type::max_data: {
        auto limit = in.u64();
        if (!in.ok())
          return ec::malformed_frame;
        f.max_data = std::max(f.max_data.value_or(0), limit);
        f.ack_eliciting = true;
        break;
      }
      default:
        return ec::malformed_frame;
    }
    if (!in.ok())
      return ec::malformed_frame;
  }
  return ec::none;
}

} // namespace crust::rudp
