#include "discovery/gossip_table.hpp"

#include "discovery/peer_record_codec.hpp"
#include "transport/wire.hpp"

#include <algorithm>

namespace crust {

bytes encode_gossip(uint8_t ttl, const std::vector<peer_record>& records) {
  bytes out;
  wire::put_u8(out, ttl);
  auto n = std::min(records.size(), max_gossip_records);
  wire::put_u8(out, static_cast<uint8_t>(n));
  for (size_t i = 0; i < n; ++i)
    encode_peer_record(out, records[i]);
  return out;
}

ec decode_gossip(const bytes& body, const std::string& network, uint8_t& ttl,
                 std::vector<peer_record>& out) {
  wire::reader in{body};
  ttl = in.u8();
  auto n = in.u8();
  if (!in.ok() || n == 0 || n > max_gossip_records)
    return ec::malformed_frame;
  std::vector<peer_record> result;
  for (uint8_t i = 0; i < n; ++i) {
    peer_record r;
    if (auto err = decode_peer_record(in, network, r); err != ec::none)
      return err;
    result.push_back(std::move(r));
  }
  if (in.left() != 0)
    return ec::malformed_frame;
  out = std::move(result);
  return ec::none;
}

gossip_table::verdict gossip_table::offer(const peer_record& x, uint64_t now_unix) {
  if (x.peer == self_)
    return verdict::own;
  if (x.expires <= now_unix)
    return verdict::expired;
  auto i = records_.find(x.peer);
  if (i != records_.end()) {
    if (i->second.seq >= x.seq)
      return verdict::known;
    i->second = x;
    return verdict::fresh;
  }
  if (records_.size() >= capacity_ && capacity_ > 0) {
    // Make room: the record that expires first goes.
    auto victim = std::min_element(records_.begin(), records_.end(),
                                   [](const auto& a, const auto& b) {
                                     return a.second.expires < b.second.expires;
                                   });
    if (victim->second.expires >= x.expires)
      return verdict::known; // everything we hold lives longer
    records_.erase(victim);
  }
  records_.emplace(x.peer, x);
  return verdict::fresh;
}

std::vector<peer_record> gossip_table::newest(size_t n) const {
  std::vector<peer_record> all;
  for (auto& [_, r] : records_)
    all.push_back(r);
  std::sort(all.begin(), all.end(),
            [](const peer_record& a, const peer_record& b) { return a.seq > b.seq; });
  if (all.size() > n)
    all.resize(n);
  return all;
}

void gossip_table::expire(uint64_t now_unix) {
  for (auto i = records_.begin(); i != records_.end();)
    if (i->second.expires <= now_unix)
      i = records_.erase(i);
    else
      ++i;
}

const peer_record* gossip_table::find(const peer_id& peer) const {
  auto i = records_.find(peer);
  return i == records_.end() ? nullptr : &i->second;
}

} // namespace crust
