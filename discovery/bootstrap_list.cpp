#include "discovery/bootstrap_list.hpp"

#include "transport/wire.hpp"

namespace crust {

bytes encode_bootstrap_list(const std::vector<bootstrap_entry>& xs) {
  bytes out;
  wire::put_u8(out, 0);
  uint8_t n = 0;
  for (auto& x : xs) {
    if (n == max_bootstrap_list)
      break;
    bytes one(x.peer.key.begin(), x.peer.key.end());
    if (!wire::put_endpoint(one, x.remote))
      continue;
    out.insert(out.end(), one.begin(), one.end());
    ++n;
  }
  out[0] = n;
  return out;
}

ec decode_bootstrap_list(const bytes& body, std::vector<bootstrap_entry>& out) {
  wire::reader in{body};
  auto n = in.u8();
  if (!in.ok() || n > max_bootstrap_list)
    return ec::bad_record;
  std::vector<bootstrap_entry> result;
  for (uint8_t i = 0; i < n; ++i) {
    bootstrap_entry e;
    if (!wire::get_peer(in, e.peer))
      return ec::bad_record;
    auto ep = wire::get_endpoint(in);
    if (!ep || !wire::dialable(*ep))
      return ec::bad_record;
    e.remote = *ep;
    result.push_back(std::move(e));
  }
  if (in.left() != 0)
    return ec::bad_record;
  out = std::move(result);
  return ec::none;
}

} // namespace crust
