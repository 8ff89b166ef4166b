#include "xor_policy.hpp"

#include <algorithm>

namespace crust {

std::array<uint8_t, 32> xor_distance(const peer_id& a, const peer_id& b) {
  std::array<uint8_t, 32> d;
  for (size_t i = 0; i < d.size(); ++i)
    d[i] = a.key[i] ^ b.key[i];
  return d;
}

xor_policy::xor_policy(peer_id self, xor_policy_config cfg, uint64_t seed)
  : self_(self), cfg_(cfg), rng_(seed) {
}

void xor_policy::remember(const peer_id& peer) {
  auto [i, fresh] = known_.try_emplace(peer);
  if (!fresh)
    return;
  i->second.order = ++learned_count_;
  if (known_.size() <= cfg_.max_known)
    return;
  // Forget the oldest peer that is neither connected nor chosen.
  auto victim = known_.end();
  for (auto j = known_.begin(); j != known_.end(); ++j)
    if (!connected_.count(j->first) && !chosen_.count(j->first) && j->first != peer
        && (victim == known_.end() || j->second.order < victim->second.order))
      victim = j;
  if (victim != known_.end())
    known_.erase(victim);
}

void xor_policy::learned(const peer_id& peer, const std::vector<endpoint>& endpoints) {
  if (peer == self_ || peer.empty())
    return;
  remember(peer);
  if (auto i = known_.find(peer); i != known_.end() && !endpoints.empty())
    i->second.endpoints = endpoints;
}

void xor_policy::up(const peer_id& peer, direction dir, const endpoint& dialled) {
  if (peer == self_)
    return;
  connected_[peer] = dir;
  remember(peer);
  auto i = known_.find(peer);
  if (i != known_.end() && dir == direction::outbound && dialled.port != 0
      && std::find(i->second.endpoints.begin(), i->second.endpoints.end(), dialled)
           == i->second.endpoints.end())
    i->second.endpoints.insert(i->second.endpoints.begin(), dialled);
}

void xor_policy::down(const peer_id& peer) {
  connected_.erase(peer);
  dropping_.erase(peer);
}

void xor_policy::blacklisted(const peer_id& peer) {
  blacklisted_.insert(peer);
  maintained_.erase(peer);
  random_picks_.erase(peer);
}

std::vector<xor_policy::action> xor_policy::settle(time_point now) {
  std::vector<action> out;
  std::vector<peer_id> candidates;
  for (auto& [peer, k] : known_)
    if (!blacklisted_.count(peer))
      candidates.push_back(peer);
  std::sort(candidates.begin(), candidates.end(), [&](const peer_id& a, const peer_id& b) {
    return xor_distance(self_, a) < xor_distance(self_, b);
  });
  std::set<peer_id> chosen(candidates.begin(),
                           candidates.begin()
                             + static_cast<ptrdiff_t>(std::min(cfg_.keep, candidates.size())));
  // Random picks stay while they are candidates and not among the closest;
  // missing ones are drawn from the rest.
  for (auto i = random_picks_.begin(); i != random_picks_.end();)
    i = (!known_.count(*i) || blacklisted_.count(*i) || chosen.count(*i)) ? random_picks_.erase(i)
                                                                            : std::next(i);
  std::vector<peer_id> rest;
  for (auto& p : candidates)
    if (!chosen.count(p) && !random_picks_.count(p))
      rest.push_back(p);
  std::shuffle(rest.begin(), rest.end(), rng_);
  for (size_t i = 0; i < rest.size() && random_picks_.size() < cfg_.random; ++i)
    random_picks_.insert(rest[i]);
  chosen.insert(random_picks_.begin(), random_picks_.end());
  chosen_ = std::move(chosen);
  // Chosen and connected: maintained (crust re-dials them when they go).
  // Chosen, not connected and not maintained: dialled, a few at a time.
  size_t dials = 0;
  size_t chosen_up = 0;
  for (auto& p : chosen_) {
    if (connected_.count(p)) {
      ++chosen_up;
      if (maintained_.insert(p).second)
        out.push_back({action::kind::maintain, p, {}});
      continue;
    }
    if (maintained_.count(p) || dials >= cfg_.dials_per_settle)
      continue;
    auto& k = known_[p];
    if (k.endpoints.empty() || (k.last_dial != time_point{} && now - k.last_dial < cfg_.redial))
      continue;
    // TCP first; crust races reliable UDP itself when TCP is slow.
    auto ep = std::find_if(k.endpoints.begin(), k.endpoints.end(),
                           [](const endpoint& e) { return e.proto == protocol::tcp; });
    k.last_dial = now;
    ++dials;
    out.push_back({action::kind::connect, p, ep != k.endpoints.end() ? *ep : k.endpoints.front()});
  }
  // No longer chosen: stop maintaining (the link closes). Links we opened
  // to peers we never chose (bootstrap, discovery) go once our own set is
  // up; links others opened to us are theirs to keep.
  for (auto i = maintained_.begin(); i != maintained_.end();) {
    if (chosen_.count(*i)) {
      ++i;
      continue;
    }
    if (connected_.count(*i))
      dropping_.insert(*i);
    out.push_back({action::kind::drop, *i, {}});
    i = maintained_.erase(i);
  }
  if (chosen_up >= std::min(chosen_.size(), cfg_.keep))
    for (auto& [p, dir] : connected_)
      if (dir == direction::outbound && !chosen_.count(p) && !maintained_.count(p)
          && dropping_.insert(p).second)
        out.push_back({action::kind::drop, p, {}});
  return out;
}

} // namespace crust
