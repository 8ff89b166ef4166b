#include "nat/rendezvous_codec.hpp"

#include "transport/wire.hpp"

#include <algorithm>

namespace crust {

namespace {

void put_list(bytes& out, const std::vector<endpoint>& xs) {
  bytes body;
  uint8_t n = 0;
  for (auto& ep : xs) {
    if (n == max_info_endpoints)
      break;
    if (wire::put_endpoint(body, ep))
      ++n;
  }
  wire::put_u8(out, n);
  out.insert(out.end(), body.begin(), body.end());
}

ec get_list(wire::reader& in, std::vector<endpoint>& out) {
  auto n = in.u8();
  if (!in.ok())
    return ec::truncated_frame;
  if (n > max_info_endpoints)
    return ec::malformed_frame;
  for (uint8_t i = 0; i < n; ++i) {
    auto ep = wire::get_endpoint(in);
    if (!ep)
      return in.ok() ? ec::malformed_frame : ec::truncated_frame;
    if (!wire::dialable(*ep))
      return ec::malformed_frame;
    out.push_back(*ep);
  }
  return ec::none;
}

} // namespace

bytes encode(const rendezvous_msg& x) {
  bytes out;
  wire::put_u8(out, static_cast<uint8_t>(x.type));
  wire::put_u8(out, x.stage);
  wire::put_u64(out, x.nonce);
  wire::put_peer(out, x.peer);
  if (x.type == rendezvous_msg::kind::unreachable) {
    wire::put_u8(out, static_cast<uint8_t>(x.reason));
    return out;
  }
  wire::put_u8(out, static_cast<uint8_t>(x.info.nat));
  put_list(out, x.info.local);
  put_list(out, x.info.external);
  return out;
}

ec decode(const bytes& data, rendezvous_msg& out) {
  out = rendezvous_msg{};
  wire::reader in(data);
  auto type = in.u8();
  out.stage = in.u8();
  out.nonce = in.u64();
  if (!wire::get_peer(in, out.peer) || !in.ok())
    return ec::truncated_frame;
  if (type < 1 || type > 3)
    return ec::unknown_frame_kind;
  if (out.stage > 1)
    return ec::malformed_frame;
  out.type = static_cast<rendezvous_msg::kind>(type);
  if (out.type == rendezvous_msg::kind::unreachable) {
    out.reason = static_cast<ec>(in.u8());
  } else {
    auto nat = in.u8();
    if (!in.ok())
      return ec::truncated_frame;
    if (nat > static_cast<uint8_t>(nat_class::endpoint_dependent))
      return ec::malformed_frame;
    out.info.nat = static_cast<nat_class>(nat);
    if (auto err = get_list(in, out.info.local); err != ec::none)
      return err;
    if (auto err = get_list(in, out.info.external); err != ec::none)
      return err;
  }
  if (!in.ok())
    return ec::truncated_frame;
  if (in.left() != 0)
    return ec::malformed_frame;
  return ec::none;
}

} // namespace crust
