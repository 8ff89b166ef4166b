#include "discovery/gossip.hpp"

#include "discovery/peer_record_codec.hpp"
#include "transport/local_interfaces.hpp"

#include <caf/send.hpp>

#include <algorithm>
#include <ctime>

namespace crust {

namespace {

constexpr auto rate_window = std::chrono::seconds(10);
constexpr size_t max_records_per_window = 64; // per neighbour
constexpr auto alert_interval = std::chrono::seconds(10);

void send_records(gossip_pointer self, const peer_id& to, uint8_t ttl,
                  const std::vector<peer_record>& xs) {
  if (xs.empty())
    return;
  auto& st = self->state;
  for (size_t i = 0; i < xs.size(); i += max_gossip_records) {
    std::vector<peer_record> part(xs.begin() + static_cast<ptrdiff_t>(i),
                                  xs.begin()
                                    + static_cast<ptrdiff_t>(
                                      std::min(xs.size(), i + max_gossip_records)));
    self->send(st.host, service_out{to, service_id::gossip, encode_gossip(ttl, part)});
  }
}

void announce_own(gossip_pointer self) {
  auto& st = self->state;
  if (!st.own)
    return;
  for (auto& [peer, n] : st.neighbours)
    send_records(self, peer, st.cfg.gossip_ttl, {*st.own});
}

void reject(gossip_pointer self, const peer_id& from, ec reason, const std::string& what) {
  auto& st = self->state;
  ++st.rejected;
  CRUST_LOG(st.log, debug, &from, "gossip", what);
  auto now = gossip_state::clock::now();
  if (now - st.last_alert < alert_interval)
    return;
  st.last_alert = now;
  alert a;
  a.kind = alert_kind::discovery_abuse;
  a.reason = reason;
  a.peer = from;
  a.count = st.rejected;
  a.detail = "gossip: " + what;
  st.rejected = 0;
  CRUST_LOG(st.log, warning, &from, "gossip", a.detail);
  self->send(st.routing, std::move(a));
}

void receive(gossip_pointer self, service_in& x) {
  auto& st = self->state;
  auto n = st.neighbours.find(x.peer);
  if (n == st.neighbours.end())
    return;
  uint8_t ttl = 0;
  std::vector<peer_record> records;
  if (auto err = decode_gossip(x.body, st.network, ttl, records); err != ec::none) {
    reject(self, x.peer, err,
           err == ec::bad_record ? "a record failed its signature check (forged?)"
                                 : "malformed gossip message");
    return;
  }
  auto now = gossip_state::clock::now();
  auto& nb = n->second;
  if (now - nb.window_start >= rate_window) {
    nb.window_start = now;
    nb.records = 0;
  }
  nb.records += records.size();
  if (nb.records > max_records_per_window) {
    reject(self, x.peer, ec::send_queue_full, "more than 64 records in 10 s: dropped");
    return;
  }
  // Records new to us, grouped by the neighbours they go on to.
  std::map<peer_id, std::vector<peer_record>> forward;
  std::vector<peer_id> relays;
  for (auto& [peer, nbr] : st.neighbours)
    if (peer != x.peer && nbr.node)
      relays.push_back(peer);
  for (auto& r : records) {
    if (st.table->offer(r, unix_seconds()) != gossip_table::verdict::fresh)
      continue;
    CRUST_LOG(st.log, debug, &x.peer, "gossip",
              "record of " << short_string(r.peer) << " (ttl " << int(ttl) << ")");
    if (st.neighbours.count(r.peer) == 0) {
      peer_discovered d{r.peer, r.endpoints, discovery_source::gossip};
      self->send(st.store, d);
      self->send(st.routing, std::move(d));
    }
    if (ttl <= 1)
      continue;
    // Bounded fan-out: a few neighbours, chosen at random.
    auto candidates = relays;
    candidates.erase(std::remove(candidates.begin(), candidates.end(), r.peer), candidates.end());
    for (size_t k = 0; k < st.cfg.gossip_fanout && !candidates.empty(); ++k) {
      st.rng ^= st.rng << 13;
      st.rng ^= st.rng >> 7;
      st.rng ^= st.rng << 17;
      auto idx = static_cast<size_t>(st.rng % candidates.size());
      forward[candidates[idx]].push_back(r);
      candidates.erase(candidates.begin() + static_cast<ptrdiff_t>(idx));
    }
  }
  for (auto& [to, xs] : forward)
    send_records(self, to, static_cast<uint8_t>(ttl - 1), xs);
}

/// Our record: where we listen, less what checks found unreachable (a
/// record nobody can dial is not announced at all).
void remake_own(gossip_pointer self) {
  auto& st = self->state;
  auto eps = reachable_endpoints(st.listening);
  eps.erase(std::remove_if(eps.begin(), eps.end(),
                           [&](const endpoint& ep) {
                             return std::find(st.unreachable.begin(), st.unreachable.end(), ep)
                                    != st.unreachable.end();
                           }),
            eps.end());
  st.own = own_record(*st.id, st.network, eps, st.cfg.record_lifetime);
  announce_own(self);
}

} // namespace

gossip_impl::behavior_type gossip(gossip_pointer self, discovery_config cfg, std::string network,
                                  std::shared_ptr<const identity> id, discovery_host_actor host,
                                  bootstrap_store_actor store, routing_actor routing,
                                  logger_ptr log) {
  auto& st = self->state;
  st.table.emplace(id->id(), cfg.gossip_records);
  st.cfg = std::move(cfg);
  st.network = std::move(network);
  st.id = std::move(id);
  st.host = std::move(host);
  st.store = std::move(store);
  st.routing = std::move(routing);
  st.log = std::move(log);
  st.rng ^= reinterpret_cast<uintptr_t>(self) ^ unix_millis();
  // Linked to the node's manager: whenever it ends, so do we.
  self->set_exit_handler([self](const caf::exit_msg& x) { self->quit(x.reason); });
  self->delayed_send(self, st.cfg.gossip_interval, gossip_tick_atom::value);
  return {
    [self](listening& x) {
      auto& st = self->state;
      st.listening = std::move(x.endpoints);
      remake_own(self);
    },
    [self](reachability_changed& x) {
      auto& st = self->state;
      st.unreachable = std::move(x.unreachable);
      remake_own(self);
    },
    [self](const connection_up& x) {
      auto& st = self->state;
      st.neighbours[x.peer] = gossip_state::neighbour{x.role == node_role::node, {}, 0};
      // Our record travels on; what we know is for the newcomer alone.
      if (st.own)
        send_records(self, x.peer, st.cfg.gossip_ttl, {*st.own});
      auto known = st.table->newest(max_gossip_records);
      known.erase(std::remove_if(known.begin(), known.end(),
                                 [&](const peer_record& r) { return r.peer == x.peer; }),
                  known.end());
      send_records(self, x.peer, 1, known);
    },
    [self](const connection_down& x) { self->state.neighbours.erase(x.peer); },
    [self](service_in& x) {
      if (x.service == service_id::gossip)
        receive(self, x);
    },
    [self](gossip_tick_atom) {
      auto& st = self->state;
      st.table->expire(unix_seconds());
      refresh_own_record(st.own, *st.id, st.network, st.cfg.record_lifetime);
      announce_own(self);
      self->delayed_send(self, st.cfg.gossip_interval, gossip_tick_atom::value);
    },
  };
}

} // namespace crust
