#include "nat/reachability_codec.hpp"

#include "transport/wire.hpp"

namespace crust {

std::string to_string(reach_status x) {
  switch (x) {
    case reach_status::reachable: return "reachable";
    case reach_status::unreachable: return "unreachable";
    case reach_status::refused: return "refused";
  }
  return "unknown";
}

bytes encode(const reachability_msg& x) {
  bytes out;
  wire::put_u8(out, static_cast<uint8_t>(x.type));
  wire::put_u64(out, x.nonce);
  bytes body;
  uint8_t n = 0;
  if (x.type == reachability_msg::kind::check) {
    for (auto& ep : x.endpoints)
      if (n < max_check_endpoints && wire::put_endpoint(body, ep))
        ++n;
  } else {
    for (auto& [ep, status] : x.results)
      if (n < max_check_endpoints && wire::put_endpoint(body, ep)) {
        wire::put_u8(body, static_cast<uint8_t>(status));
        ++n;
      }
  }
  wire::put_u8(out, n);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

ec decode(const bytes& data, reachability_msg& out) {
  out = reachability_msg{};
  wire::reader in(data);
  auto type = in.u8();
  out.nonce = in.u64();
  auto n = in.u8();
  if (!in.ok())
    return ec::truncated_frame;
  if (type < 1 || type > 2)
    return ec::unknown_frame_kind;
  if (n > max_check_endpoints)
    return ec::malformed_frame;
  out.type = static_cast<reachability_msg::kind>(type);
  for (uint8_t i = 0; i < n; ++i) {
    auto ep = wire::get_endpoint(in);
    if (!ep)
      return in.ok() ? ec::malformed_frame : ec::truncated_frame;
    if (!wire::dialable(*ep))
      return ec::malformed_frame;
    if (out.type == reachability_msg::kind::check) {
      out.endpoints.push_back(*ep);
      continue;
    }
    auto status = in.u8();
    if (!in.ok())
      return ec::truncated_frame;
    if (status < 1 || status > 3)
      return ec::malformed_frame;
    out.results.emplace_back(*ep, static_cast<reach_status>(status));
  }
  if (in.left() != 0)
    return ec::malformed_frame;
  return ec::none;
}

} // namespace crust
