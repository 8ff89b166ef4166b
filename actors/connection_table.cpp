#include "actors/connection_table.hpp"

#include <algorithm>
#include <tuple>

namespace crust {

bool connection_table::wins(const peer_id& peer, const link& a, const link& b) const {
  auto relayed = [](const link& l) { return l.path == path_kind::relayed; };
  if (relayed(a) != relayed(b))
    return relayed(b); // a path of our own beats a relay's
  auto initiator = [&](const link& l) -> const peer_id& {
    return (l.dir == direction::outbound) != l.role_swapped ? self_ : peer;
  };
  return std::tie(initiator(a), a.handshake_hash) < std::tie(initiator(b), b.handshake_hash);
}

connection_table::admission connection_table::on_handshake(const peer_id& peer, link l) {
  auto& e = peers_[peer];
  if (l.dir == direction::outbound)
    e.dial_target = l.remote;
  else if (l.listen_port != 0 && !e.dial_target)
    e.dial_target = endpoint{protocol::tcp, l.remote.address, l.listen_port};
  admission result;
  if (!e.active) {
    e.active = std::move(l);
    e.grace_token = 0;
    e.backoff = std::chrono::milliseconds{0};
    result.report_up = !e.reported_up;
    e.reported_up = true;
    return result;
  }
  if (wins(peer, l, *e.active)) {
    result.outcome = verdict::admit_replacing;
    result.replaced = e.active->id;
    result.replaced_path = e.active->path;
    e.active = std::move(l);
    return result;
  }
  result.outcome = verdict::reject;
  return result;
}

connection_table::closure connection_table::on_closed(const peer_id& peer, conn_id id,
                                                      ec reason) {
  closure result;
  auto i = peers_.find(peer);
  if (i == peers_.end() || !i->second.active || i->second.active->id != id)
    return result; // a losing duplicate: nobody was told about it
  auto& e = i->second;
  e.active.reset();
  if (reason == ec::duplicate_connection && e.reported_up) {
    // The peer kept another connection to us; its handshake is in flight.
    e.grace_token = next_grace_token_++;
    result.grace_token = e.grace_token;
    return result;
  }
  result.report_down = e.reported_up;
  e.reported_up = false;
  result.redial = e.maintained && e.dial_target.has_value();
  forget_if_idle(peer);
  return result;
}

connection_table::closure connection_table::on_grace_expired(const peer_id& peer,
                                                             uint64_t token) {
  closure result;
  auto i = peers_.find(peer);
  if (i == peers_.end() || i->second.grace_token != token || i->second.active)
    return result;
  auto& e = i->second;
  e.grace_token = 0;
  result.report_down = e.reported_up;
  e.reported_up = false;
  result.redial = e.maintained && e.dial_target.has_value();
  forget_if_idle(peer);
  return result;
}

bool connection_table::set_maintained(const peer_id& peer, bool maintained) {
  auto i = peers_.find(peer);
  if (i == peers_.end())
    return false;
  i->second.maintained = maintained;
  if (!maintained) {
    i->second.backoff = std::chrono::milliseconds{0};
    forget_if_idle(peer);
  }
  return true;
}

std::optional<endpoint> connection_table::redial_target(const peer_id& peer) const {
  auto i = peers_.find(peer);
  if (i == peers_.end() || !i->second.maintained || i->second.active)
    return std::nullopt;
  return i->second.dial_target;
}

std::chrono::milliseconds
connection_table::next_redial_delay(const peer_id& peer, std::chrono::milliseconds min,
                                    std::chrono::milliseconds max) {
  auto& e = peers_[peer];
  e.backoff = e.backoff.count() == 0 ? min : std::min(e.backoff * 2, max);
  return e.backoff;
}

const connection_table::link* connection_table::active(const peer_id& peer) const {
  auto i = peers_.find(peer);
  if (i == peers_.end() || !i->second.active)
    return nullptr;
  return &*i->second.active;
}

bool connection_table::maintained(const peer_id& peer) const {
  auto i = peers_.find(peer);
  return i != peers_.end() && i->second.maintained;
}

bool connection_table::in_grace(const peer_id& peer) const {
  auto i = peers_.find(peer);
  return i != peers_.end() && !i->second.active && i->second.grace_token != 0;
}

std::vector<peer_id> connection_table::connected() const {
  std::vector<peer_id> result;
  for (auto& [peer, e] : peers_)
    if (e.active)
      result.push_back(peer);
  return result;
}

size_t connection_table::size() const {
  return static_cast<size_t>(
    std::count_if(peers_.begin(), peers_.end(), [](auto& kv) { return kv.second.active.has_value(); }));
}

void connection_table::forget_if_idle(const peer_id& peer) {
  auto i = peers_.find(peer);
  if (i == peers_.end() || i->second.active || i->second.maintained || i->second.reported_up
      || i->second.grace_token != 0)
    return;
  if (!i->second.dial_target) {
    peers_.erase(i);
    return;
  }
  // Keep where it listens, so the routing layer can still maintain it; only
  // the most recent ones.
  remembered_.push_back(peer);
  while (remembered_.size() > max_remembered) {
    auto old = peers_.find(remembered_.front());
    remembered_.pop_front();
    if (old != peers_.end() && !old->second.active && !old->second.maintained
        && !old->second.reported_up && old->second.grace_token == 0
        && std::find(remembered_.begin(), remembered_.end(), old->first) == remembered_.end())
      peers_.erase(old);
  }
}

} // namespace crust
