#include "discovery/beacon_packet.hpp"

#include "discovery/peer_record_codec.hpp"
#include "transport/wire.hpp"

#include <algorithm>
#include <cstring>

namespace crust {

namespace {

constexpr char magic[] = "CRSTBCN";
constexpr size_t magic_len = 7;
constexpr uint8_t version = 1;

} // namespace

bytes encode_beacon(const beacon_packet& x) {
  bytes out(magic, magic + magic_len);
  wire::put_u8(out, version);
  wire::put_u8(out, x.query ? beacon_flag_query : 0);
  wire::put_u8(out, static_cast<uint8_t>(x.network.size()));
  out.insert(out.end(), x.network.begin(), x.network.end());
  encode_peer_record(out, x.record);
  if (x.query && out.size() < beacon_query_size)
    out.resize(beacon_query_size, 0);
  return out;
}

beacon_verdict decode_beacon(const uint8_t* data, size_t len, const std::string& network,
                             beacon_packet& out) {
  if (len > max_beacon_size)
    return beacon_verdict::malformed;
  wire::reader in{data, len};
  auto m = in.take(magic_len);
  if (!m || std::memcmp(m, magic, magic_len) != 0 || in.u8() != version)
    return beacon_verdict::malformed;
  auto flags = in.u8();
  auto n = in.u8();
  auto name = in.take(n);
  if (!in.ok() || (flags & ~beacon_flag_query) != 0)
    return beacon_verdict::malformed;
  std::string net(reinterpret_cast<const char*>(name), n);
  if (net != network)
    return beacon_verdict::other_network;
  beacon_packet x;
  x.query = (flags & beacon_flag_query) != 0;
  x.network = std::move(net);
  switch (decode_peer_record(in, network, x.record)) {
    case ec::none: break;
    case ec::bad_record: return beacon_verdict::forged;
    default: return beacon_verdict::malformed;
  }
  // Only zeros may follow (a query's padding).
  if (!std::all_of(in.pos(), in.pos() + in.left(), [](uint8_t b) { return b == 0; }))
    return beacon_verdict::malformed;
  out = std::move(x);
  return beacon_verdict::ok;
}

} // namespace crust
