#include "nat/observed_addresses.hpp"

#include "transport/address.hpp"

#include <algorithm>

namespace crust {

void observed_addresses::add(const peer_id& observer, const std::string& observer_address,
                             const endpoint& seen) {
  if (seen.port == 0 || seen.address.empty())
    return;
  seen_[observer] = report{observer_address, seen};
}

void observed_addresses::remove(const peer_id& observer) {
  seen_.erase(observer);
}

std::optional<std::string> observed_addresses::trusted_address() const {
  std::map<std::string, size_t> votes;
  for (auto& [peer, r] : seen_)
    if (++votes[r.seen.address] >= quorum_)
      return r.seen.address;
  return std::nullopt;
}

std::optional<std::string>
observed_addresses::tcp_address(const std::vector<std::string>& local_addresses) const {
  std::map<std::string, size_t> votes;
  for (auto& [peer, r] : seen_)
    if (r.seen.proto == protocol::tcp && !is_ipv6_address(r.seen.address))
      ++votes[r.seen.address];
  std::optional<std::string> out;
  for (auto& [address, n] : votes)
    if (n >= quorum_ || votes.size() == 1)
      out = address;
  if (!out && votes.size() > 1)
    return std::nullopt; // disagreement without a quorum
  if (out
      && std::find(local_addresses.begin(), local_addresses.end(), *out) != local_addresses.end())
    return std::nullopt;
  return out;
}

std::optional<endpoint> observed_addresses::trusted_udp() const {
  std::map<endpoint, size_t> votes;
  for (auto& [peer, r] : seen_)
    if (r.seen.proto == protocol::udp && ++votes[r.seen] >= quorum_)
      return r.seen;
  return std::nullopt;
}

nat_class observed_addresses::classify(const std::vector<std::string>& local_addresses,
                                       uint16_t local_port) const {
  std::vector<const report*> udp;
  for (auto& [peer, r] : seen_)
    if (r.seen.proto == protocol::udp)
      udp.push_back(&r);
  for (size_t i = 0; i < udp.size(); ++i)
    for (size_t j = i + 1; j < udp.size(); ++j)
      if (udp[i]->observer_address != udp[j]->observer_address
          && udp[i]->seen.address == udp[j]->seen.address
          && udp[i]->seen.port != udp[j]->seen.port)
        return nat_class::endpoint_dependent;
  if (auto ep = trusted_udp()) {
    bool ours = ep->port == local_port
                && std::find(local_addresses.begin(), local_addresses.end(), ep->address)
                     != local_addresses.end();
    return ours ? nat_class::none : nat_class::endpoint_independent;
  }
  return nat_class::unknown;
}

} // namespace crust
