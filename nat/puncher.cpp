#include "nat/puncher.hpp"

#include "nat/relay_codec.hpp"
#include "nat/rendezvous_codec.hpp"
#include "nat/stun_message.hpp"
#include "transport/address.hpp"
#include "transport/local_interfaces.hpp"

#include <sodium.h>

#include <algorithm>

namespace crust {

namespace {

using clock = puncher_state::clock;

constexpr auto tick_interval = std::chrono::milliseconds(20);

void maybe_check(puncher_pointer self);
void schedule_upgrade(puncher_pointer self, const peer_id& peer,
                      std::optional<std::chrono::milliseconds> first = std::nullopt);

/// An upgrade attempt needs no rendezvous retries and no relay stage: the
/// punching window and time for the dials it started.
std::chrono::milliseconds upgrade_timeout(const nat_config& cfg) {
  return std::min(cfg.traversal_timeout, cfg.punch_duration + std::chrono::milliseconds(2000));
}

bool probes_pending(const puncher_state& st) {
  return std::any_of(st.probes.begin(), st.probes.end(), [](const stun_transaction& t) {
    return t.current() == stun_transaction::state::pending;
  });
}

void ensure_ticking(puncher_pointer self) {
  auto& st = self->state;
  if (st.ticking)
    return;
  st.ticking = true;
  self->delayed_send(self, tick_interval, nat_tick_atom::value);
}

void send_raw(puncher_pointer self, const endpoint& to, bytes data) {
  self->send(self->state.host, raw_datagram{to, std::move(data)});
}

void start_stun_round(puncher_pointer self) {
  auto& st = self->state;
  if (st.cfg.stun_servers.empty() || !st.udp_local || probes_pending(st))
    return;
  st.probes.clear();
  auto now = self->clock().now();
  auto ours = reachable_endpoints(st.listening);
  for (auto& server : st.cfg.stun_servers) {
    // Only servers of a family we have an address of (an IPv6-only host
    // would wait out every retransmission to an IPv4 server).
    if (!ours.empty() && std::none_of(ours.begin(), ours.end(), [&](const endpoint& ep) {
          return is_ipv6_address(ep.address) == is_ipv6_address(server.address);
        }))
      continue;
    auto target = server;
    target.proto = protocol::udp;
    st.probes.emplace_back(target, now, st.cfg.stun_rto, st.cfg.stun_tries);
  }
  CRUST_LOG(st.log, debug, nullptr, "puncher",
            "asking " << st.probes.size() << " STUN server(s) for our external endpoint");
  ensure_ticking(self);
}

/// Asks the gateway to forward our listening ports (again, to renew).
void request_upnp(puncher_pointer self) {
  auto& st = self->state;
  if (!st.upnp)
    return;
  mapping_request req;
  for (auto& ep : st.listening)
    if (ep.port != 0)
      req.ports.push_back(ep);
  req.lease_seconds = st.cfg.upnp_lease_seconds;
  req.discover_ms = st.cfg.upnp_discover_ms;
  if (st.upnp_mapped.empty())
    st.upnp_status = "pending";
  self->request(st.upnp, std::chrono::seconds(60), port_map_atom::value, std::move(req))
    .then(
      [self](mapping_result& r) {
        auto& st = self->state;
        st.upnp_mapped = r.mapped;
        if (!r.mapped.empty())
          st.upnp_status = "mapped via " + r.method
                           + (r.connected ? "" : " (the gateway's external address is not public)");
        else
          st.upnp_status = r.error.empty() ? "nothing mapped" : r.error;
        CRUST_LOG(st.log, info, nullptr, "puncher",
                  "port mapping: " << st.upnp_status
                                   << (r.error.empty() || r.mapped.empty() ? "" : "; " + r.error)
                                   << " (" << r.mapped.size() << " port(s) forwarded from "
                                   << (r.external_address.empty() ? "?" : r.external_address)
                                   << ")");
        maybe_check(self); // with the ports the gateway forwards
        if (r.found)
          self->delayed_send(self, std::chrono::seconds(std::max<uint32_t>(
                                     st.cfg.upnp_lease_seconds / 2, 1)),
                             upnp_renew_atom::value);
      },
      [self](caf::error& err) {
        auto& st = self->state;
        st.upnp_status = "the port mapper failed: " + self->system().render(err);
      });
}

/// Ends a traversal: the sockets the node holds for it go too.
void end_traversal(puncher_pointer self, std::map<peer_id, puncher_state::traversal>::iterator i) {
  auto& st = self->state;
  if (i->second.held > 0)
    self->send(st.host, release_sockets{i->first});
  st.traversals.erase(i);
}

void fail(puncher_pointer self, const peer_id& peer, ec reason, const std::string& detail) {
  auto& st = self->state;
  auto i = st.traversals.find(peer);
  if (i == st.traversals.end())
    return;
  bool upgrade = i->second.upgrade;
  end_traversal(self, i);
  if (upgrade) {
    // The peer is still connected, through the relay: nothing to report.
    CRUST_LOG(st.log, info, &peer, "puncher",
              "the relayed link stays relayed (" << to_string(reason) << "): " << detail);
    schedule_upgrade(self, peer);
    return;
  }
  ++st.counters.traversals_failed;
  CRUST_LOG(st.log, info, &peer, "puncher",
            "traversal failed (" << to_string(reason) << "): " << detail);
  self->send(st.routing, traversal_failed{peer, reason, detail});
}

/// A punch (or birthday probe): a STUN Binding request, fresh transaction id.
bytes punch_request() {
  stun::build_options opts;
  opts.software = "crust";
  return stun::build_binding(stun::msg_class::request, stun::random_transaction_id(), opts);
}

/// STUN Binding requests to each target: they open our NAT towards them.
void send_punches(puncher_pointer self, const std::vector<endpoint>& targets) {
  auto& st = self->state;
  for (auto& ep : targets) {
    send_raw(self, ep, punch_request());
    ++st.counters.punches_sent;
  }
}

/// Asks the node to dial each planned candidate (TCP punches only if on).
void send_dials(puncher_pointer self, const peer_id& peer,
                const std::vector<punch_plan::dial>& dials) {
  auto& st = self->state;
  for (auto& d : dials)
    if (d.path != path_kind::punched_tcp || st.cfg.tcp_punch)
      self->send(st.host, traversal_dial{d.remote, peer, d.path});
}

/// The relay refused our circuit to `x.target`. The circuit is asked for
/// only when punching cannot work or is over, so the traversal fails now,
/// with the relay's reason, rather than at its time limit.
void on_relay_refused(puncher_pointer self, const relay_refused& x) {
  auto& st = self->state;
  auto i = st.traversals.find(x.target);
  if (i == st.traversals.end() || !i->second.relaying || i->second.through != x.through)
    return; // stale: not the circuit this traversal asked for
  fail(self, x.target, x.reason == ec::none ? ec::unreachable : x.reason,
       "the relay " + short_string(x.through) + " refused the circuit (" + to_string(x.reason)
         + ")");
}

/// Opens the relay circuit once its time has come.
void maybe_relay(puncher_pointer self, const peer_id& peer, puncher_state::traversal& t,
                 clock::time_point now) {
  auto& st = self->state;
  if (!t.relay_at || t.relaying || now < *t.relay_at || !t.through)
    return;
  t.relaying = true;
  CRUST_LOG(st.log, info, &peer, "puncher",
            "opening a relay circuit through " << short_string(*t.through));
  self->send(st.host, relay_dial{*t.through, peer});
}

bool birthday_enabled(const nat_config& cfg) {
  return cfg.birthday.probes > 0 && cfg.birthday.sockets > 0;
}

/// How long the hard side takes to open its sockets: the easy side's
/// probes start then (earlier ones would find fewer mappings to hit).
std::chrono::milliseconds holding_lead(const probe_budget& b) {
  return std::chrono::milliseconds(b.sockets * 1000 / std::max<size_t>(b.sockets_per_second, 1));
}

/// A birthday-probing upgrade: the prober's probes or the holder's sockets
/// for the peer, within the budget; the attempt lasts until the probes
/// are done and a dial from the last one had time to finish.
void start_birthday(puncher_pointer self, const peer_id& peer, puncher_state::traversal& t,
                    const connection_info& ours, clock::time_point now) {
  auto& st = self->state;
  auto& b = st.cfg.birthday;
  t.role = birthday_role(ours, *t.theirs);
  if (t.role == probe_role::none)
    return;
  if (auto last = st.last_birthday.find(peer);
      last != st.last_birthday.end() && now - last->second < st.cfg.birthday_interval) {
    CRUST_LOG(st.log, info, &peer, "puncher",
              "no birthday probing: the last attempt with this peer was less than "
                << st.cfg.birthday_interval.count() << " ms ago");
    t.role = probe_role::none;
    return;
  }
  st.last_birthday[peer] = now;
  auto lead = holding_lead(b);
  auto probing_ends = pacer{b.probes, b.probes_per_second, now + lead}.finish();
  t.deadline = std::max(t.deadline, probing_ends + std::chrono::milliseconds(2000));
  ++st.counters.birthday_attempts;
  if (t.role == probe_role::prober) {
    // Only the address the peer reported for itself (its info came over
    // the relayed link: the peer proved its identity), within the budget.
    auto seen = dependent_mappings(*t.theirs);
    t.probe_address = seen.front().address;
    uint64_t seed = 0;
    randombytes_buf(&seed, sizeof(seed));
    t.probing.emplace(predicted_ports(*t.theirs, predicted_window), b, seed, now + lead);
    CRUST_LOG(st.log, info, &peer, "puncher",
              "birthday probing: up to " << b.probes << " probes of " << t.probe_address
                                         << " at " << b.probes_per_second << "/s ("
                                         << to_string(guess_allocation(*t.theirs))
                                         << " ports)");
  } else {
    for (auto& ep : t.theirs->external)
      if (ep.proto == protocol::udp) {
        t.hold_target = ep;
        break;
      }
    t.holding.emplace(b.sockets, b.sockets_per_second, now);
    CRUST_LOG(st.log, info, &peer, "puncher",
              "birthday probing: holding up to " << b.sockets << " sockets towards "
                                                  << to_string(t.hold_target));
  }
}

/// What birthday probing does this tick: the probes now due, or the next
/// sockets.
void birthday_step(puncher_pointer self, const peer_id& peer, puncher_state::traversal& t,
                   clock::time_point now) {
  auto& st = self->state;
  if (t.probing) {
    for (auto port : t.probing->due(now)) {
      send_raw(self, endpoint{protocol::udp, t.probe_address, port}, punch_request());
      ++st.counters.birthday_probes;
    }
  }
  if (t.holding) {
    if (auto n = t.holding->take(now); n > 0) {
      t.held += static_cast<uint32_t>(n);
      st.counters.birthday_sockets += n;
      self->send(st.host, hold_sockets{peer, t.hold_target, static_cast<uint32_t>(n),
                                       punch_request()});
    }
  }
}

/// Both sides' info is known: punch, then dial every candidate.
void begin_punching(puncher_pointer self, const peer_id& peer) {
  auto& st = self->state;
  auto i = st.traversals.find(peer);
  if (i == st.traversals.end() || !i->second.theirs)
    return;
  auto& t = i->second;
  auto now = self->clock().now();
  t.punch_until = now + st.cfg.punch_duration;
  t.next_punch = now + st.cfg.punch_interval;
  auto ours = current_info(st);
  if (t.upgrade && punching_hopeless(ours, *t.theirs)) {
    // Both ends compute the same: neither punches (a NAT may change: we
    // ask again later).
    CRUST_LOG(st.log, info, &peer, "puncher",
              "the relayed link stays relayed: punching cannot work (they: "
                << to_string(t.theirs->nat) << ", we: " << to_string(ours.nat) << ")");
    end_traversal(self, i);
    schedule_upgrade(self, peer);
    return;
  }
  if (t.upgrade && birthday_enabled(st.cfg))
    start_birthday(self, peer, t, ours, now);
  auto plan = plan_traversal(ours, *t.theirs);
  if (ours.nat != nat_class::none)
    self->send(st.host, traversal_expect{peer, path_kind::punched_udp});
  // The initiator turns to the rendezvous peer's relay when punching cannot
  // work, or has not worked by the end of punching.
  if (t.initiator && t.through && st.cfg.use_relay && !t.upgrade)
    t.relay_at = relay_at_once(ours, *t.theirs)    ? now
                 : same_nat_apart(ours, *t.theirs) ? now + hairpin_wait
                                                   : t.punch_until;
  t.punch = plan.punch; // the targets for the rest of the punching window
  send_punches(self, t.punch); // our NAT opens towards them before we dial
  send_dials(self, peer, plan.dials);
  t.later = plan.later;
  t.later_at = now + ipv6_head_start;
  maybe_relay(self, peer, t, now); // at once when punching cannot work
  CRUST_LOG(st.log, info, &peer, "puncher",
            "punching towards " << plan.punch.size() << " endpoint(s), dialling "
                                << plan.dials.size()
                                << (plan.later.empty() ? std::string()
                                                       : " (IPv6), " + std::to_string(plan.later.size())
                                                           + " more in 250 ms")
                                << " (they: " << to_string(t.theirs->nat)
                                << ", we: " << to_string(ours.nat) << ")");
  ensure_ticking(self);
}

void send_rendezvous(puncher_pointer self, const peer_id& to, const rendezvous_msg& m) {
  self->send(self->state.host, service_out{to, service_id::rendezvous, encode(m)});
}

/// Sends what waited for the STUN round: offers, answers, prepared info.
void flush_waiting(puncher_pointer self) {
  auto& st = self->state;
  for (auto token : st.info_tokens)
    self->send(st.routing, connection_info_prepared{token, current_info(st)});
  st.info_tokens.clear();
  std::vector<peer_id> ready;
  auto now = self->clock().now();
  for (auto& [peer, t] : st.traversals) {
    if (t.offered || !t.through || (t.retry_at && now < *t.retry_at))
      continue;
    ++t.asked;
    rendezvous_msg m;
    // An upgrade's info goes to the peer itself, as the introduction a
    // rendezvous peer would have made of it.
    m.type = t.upgrade ? rendezvous_msg::kind::introduction : rendezvous_msg::kind::introduce;
    m.stage = t.initiator ? 0 : 1;
    m.nonce = t.nonce;
    m.peer = t.upgrade ? st.self_id : peer;
    m.info = current_info(st);
    send_rendezvous(self, *t.through, m);
    t.offered = true;
    if (!t.initiator)
      ready.push_back(peer);
  }
  for (auto& peer : ready)
    begin_punching(self, peer);
}

void on_round_done(puncher_pointer self) {
  auto& st = self->state;
  auto cls = st.classifier.classify();
  auto ext = st.classifier.external();
  CRUST_LOG(st.log, info, nullptr, "puncher",
            "NAT: " << to_string(cls) << ", external "
                    << (ext ? to_string(*ext) : std::string("unknown")) << " ("
                    << st.classifier.servers().size() << " of " << st.probes.size()
                    << " STUN server(s) answered)");
  flush_waiting(self);
  maybe_check(self); // with the mapping STUN gave us
}

void tick(puncher_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  bool was_pending = probes_pending(st);
  for (auto& p : st.probes)
    if (p.poll(now))
      send_raw(self, p.server(), p.request());
  if (was_pending && !probes_pending(st))
    on_round_done(self);
  else if (!probes_pending(st)
           && std::any_of(st.traversals.begin(), st.traversals.end(), [&](auto& kv) {
                return !kv.second.offered && kv.second.retry_at && now >= *kv.second.retry_at;
              }))
    flush_waiting(self); // introductions asked again
  std::vector<std::pair<peer_id, std::chrono::milliseconds>> expired; // and its time limit
  for (auto& [peer, t] : st.traversals) {
    if (now >= t.deadline) {
      expired.emplace_back(peer, std::chrono::duration_cast<std::chrono::milliseconds>(
                                   t.deadline - t.started));
      continue;
    }
    if (t.theirs && now < t.punch_until && now >= t.next_punch) {
      send_punches(self, t.punch);
      t.next_punch = now + st.cfg.punch_interval;
    }
    if (t.probing || t.holding)
      birthday_step(self, peer, t, now);
    if (!t.later.empty() && now >= t.later_at) {
      send_dials(self, peer, t.later);
      t.later.clear();
    }
    maybe_relay(self, peer, t, now);
  }
  for (auto& [peer, limit] : expired)
    fail(self, peer, ec::unreachable, "not connected within " + std::to_string(limit.count()) + " ms");
  if (probes_pending(st) || !st.traversals.empty())
    self->delayed_send(self, tick_interval, nat_tick_atom::value);
  else
    st.ticking = false;
}

/// Answers a binding request on our socket (a peer's punch or check): where
/// we saw it. Bounded per second.
void answer_binding(puncher_pointer self, const raw_datagram& x, const stun::message& m) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (now - st.answer_window >= std::chrono::seconds(1)) {
    st.answer_window = now;
    st.answers_in_window = 0;
  }
  if (st.answers_in_window >= st.cfg.binding_answers_per_second)
    return;
  ++st.answers_in_window;
  stun::build_options opts;
  opts.software = "crust";
  if (!m.unknown_required.empty())
    send_raw(self, x.remote, stun::build_error_response(m.tid, 420, "Unknown Attribute", opts));
  else
    send_raw(self, x.remote, stun::build_binding_response(m.tid, x.remote, opts));
}

void on_datagram(puncher_pointer self, const raw_datagram& x) {
  auto& st = self->state;
  stun::message m;
  if (stun::parse(x.data, m) != ec::none || m.method != stun::method_binding)
    return; // not STUN, or not ours to care about
  switch (m.cls) {
    case stun::msg_class::request:
      if (st.cfg.enabled)
        answer_binding(self, x, m);
      return;
    case stun::msg_class::indication:
      return; // a keepalive or punch
    default:
      break;
  }
  bool was_pending = probes_pending(st);
  for (auto& p : st.probes) {
    if (!p.on_message(m))
      continue;
    if (p.mapped())
      st.classifier.on_mapping(p.server(), *p.mapped());
    else
      CRUST_LOG(st.log, info, nullptr, "puncher",
                "STUN server " << to_string(p.server()) << ": " << p.failure());
    break;
  }
  if (was_pending && !probes_pending(st))
    on_round_done(self);
}

bool introduction_allowed(puncher_pointer self, const peer_id& from) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto& times = st.introductions[from];
  while (!times.empty() && now - times.front() > std::chrono::minutes(1))
    times.pop_front();
  if (times.size() >= st.cfg.introductions_per_minute)
    return false;
  times.push_back(now);
  return true;
}

void on_rendezvous(puncher_pointer self, const service_in& x) {
  auto& st = self->state;
  rendezvous_msg m;
  if (auto err = decode(x.body, m); err != ec::none) {
    CRUST_LOG(st.log, info, &x.peer, "puncher", "bad rendezvous message: " << to_string(err));
    return;
  }
  switch (m.type) {
    case rendezvous_msg::kind::introduce: {
      // We are the rendezvous point: hand it on, or say why not.
      rendezvous_msg out;
      out.stage = m.stage;
      out.nonce = m.nonce;
      if (!st.cfg.serve_rendezvous || !introduction_allowed(self, x.peer)
          || !st.connected.count(m.peer) || m.peer == x.peer) {
        out.type = rendezvous_msg::kind::unreachable;
        out.peer = m.peer;
        out.reason = !st.cfg.serve_rendezvous    ? ec::unsupported
                     : !st.connected.count(m.peer) ? ec::not_connected
                                                   : ec::invalid_argument;
        send_rendezvous(self, x.peer, out);
        return;
      }
      out.type = rendezvous_msg::kind::introduction;
      out.peer = x.peer;
      out.info = std::move(m.info);
      send_rendezvous(self, m.peer, out);
      ++st.counters.introductions_served;
      return;
    }
    case rendezvous_msg::kind::introduction: {
      auto source = m.peer;
      m.info.peer = source;
      if (!st.cfg.enabled || source == st.self_id)
        return;
      // From the peer itself: its info, over our relayed link to it (an
      // upgrade, PROTOCOL.md §9.6). Only a relayed link is upgraded.
      bool direct = source == x.peer;
      if (direct && !st.relayed.count(source))
        return;
      if (m.stage == 0) {
        if (direct ? st.traversals.count(source) > 0 || !introduction_allowed(self, source)
                   : st.connected.count(source) > 0)
          return; // already there, or under way
        puncher_state::traversal t;
        t.initiator = false;
        t.upgrade = direct;
        t.through = x.peer;
        t.nonce = m.nonce;
        t.theirs = std::move(m.info);
        t.started = self->clock().now();
        t.deadline = t.started + (direct ? upgrade_timeout(st.cfg) : st.cfg.traversal_timeout);
        st.traversals[source] = std::move(t);
        if (direct)
          ++st.counters.upgrades_tried;
        else
          ++st.counters.traversals_started;
        CRUST_LOG(st.log, info, &source, "puncher",
                  (direct ? std::string("the peer asks to move our relayed link to a direct path")
                          : "introduced by " + short_string(x.peer))
                    << ": answering, then punching");
        if (!probes_pending(st))
          flush_waiting(self); // answers and starts punching
        ensure_ticking(self);
        return;
      }
      auto i = st.traversals.find(source);
      if (i == st.traversals.end() || !i->second.initiator || i->second.nonce != m.nonce
          || i->second.upgrade != direct)
        return; // not ours, or stale
      i->second.theirs = std::move(m.info);
      begin_punching(self, source);
      return;
    }
    case rendezvous_msg::kind::unreachable: {
      auto i = st.traversals.find(m.peer);
      if (i == st.traversals.end() || i->second.nonce != m.nonce)
        return;
      auto& t = i->second;
      // The target may be in the middle of connecting to the rendezvous
      // peer (its side of the handshake finishes a moment before ours): ask
      // again a few times before giving up.
      if (m.reason == ec::not_connected && t.initiator && !t.theirs && t.asked < 4) {
        t.offered = false;
        t.retry_at = self->clock().now() + std::chrono::milliseconds(250) * t.asked;
        ensure_ticking(self);
        return;
      }
      fail(self, m.peer, m.reason == ec::none ? ec::unreachable : m.reason,
             "the rendezvous peer could not introduce us (" + to_string(m.reason) + ")");
      return;
    }
  }
}

/// Arms the next upgrade attempt for a relayed link we opened, the wait
/// counted from now (the link came up, or the last attempt ended) and
/// doubled for the one after.
void schedule_upgrade(puncher_pointer self, const peer_id& peer,
                      std::optional<std::chrono::milliseconds> first) {
  auto& st = self->state;
  auto i = st.relayed.find(peer);
  if (i == st.relayed.end() || !i->second.ours || st.cfg.relay_upgrade.count() <= 0)
    return;
  auto& link = i->second;
  link.generation = st.next_generation++;
  if (first) // a wait of its own, the doubling waits after it unchanged
    return self->delayed_send(self, *first, relay_upgrade_atom::value, peer, link.generation);
  self->delayed_send(self, link.wait, relay_upgrade_atom::value, peer, link.generation);
  link.wait = std::min(link.wait * 2, std::max(st.cfg.relay_upgrade_max, st.cfg.relay_upgrade));
}

/// Tries to move a relayed link to a direct path: our info goes to the peer
/// over the link itself, its answer comes back, and both punch (PROTOCOL.md
/// §9.6). The duplicate rule keeps the direct link when one comes up.
void try_upgrade(puncher_pointer self, const peer_id& peer, uint64_t generation) {
  auto& st = self->state;
  auto i = st.relayed.find(peer);
  if (i == st.relayed.end() || i->second.generation != generation)
    return; // upgraded, gone, or a stale timer
  if (!st.cfg.enabled)
    return;
  if (st.traversals.count(peer) > 0)
    return schedule_upgrade(self, peer); // the peer's own attempt is under way
  puncher_state::traversal t;
  t.initiator = true;
  t.upgrade = true;
  t.through = peer;
  randombytes_buf(&t.nonce, sizeof(t.nonce));
  t.started = self->clock().now();
  t.deadline = t.started + upgrade_timeout(st.cfg);
  st.traversals[peer] = t;
  ++st.counters.upgrades_tried;
  CRUST_LOG(st.log, info, &peer, "puncher", "trying to move the relayed link to a direct path");
  if (!probes_pending(st))
    flush_waiting(self);
  ensure_ticking(self);
}

void send_relay(puncher_pointer self, const peer_id& to, const relay_msg& m) {
  self->send(self->state.host, service_out{to, service_id::relay, encode(m)});
}

void close_out(puncher_pointer self, const relay_table::side& s, ec reason) {
  relay_msg m;
  m.type = relay_msg::kind::close_out;
  m.circuit = s.circuit;
  m.reason = reason;
  send_relay(self, s.peer, m);
}

/// We are the relay: join circuits and copy between them, within limits.
void on_relay(puncher_pointer self, const service_in& x) {
  auto& st = self->state;
  relay_msg m;
  if (auto err = decode(x.body, m); err != ec::none) {
    CRUST_LOG(st.log, info, &x.peer, "puncher", "bad relay message: " << to_string(err));
    return;
  }
  if (!m.to_relay())
    return; // for an end of a circuit: the node handles those
  auto now = self->clock().now();
  if (st.relays && now >= st.next_relay_expiry) {
    st.next_relay_expiry = now + std::chrono::seconds(1);
    for (auto& s : st.relays->expire(now))
      close_out(self, s, ec::peer_timeout);
  }
  relay_table::side from{x.peer, m.circuit};
  using k = relay_msg::kind;
  switch (m.type) {
    case k::open: {
      if (!st.relays)
        return close_out(self, from, ec::unsupported);
      if (!st.connected.count(m.peer))
        return close_out(self, from, ec::not_connected);
      uint64_t fresh = 0;
      randombytes_buf(&fresh, sizeof(fresh));
      auto [to, err] = st.relays->open(x.peer, m.circuit, m.peer, fresh, now);
      if (!to)
        return close_out(self, from, err);
      relay_msg in;
      in.type = k::incoming;
      in.circuit = to->circuit;
      in.peer = x.peer;
      send_relay(self, to->peer, in);
      relay_msg ok;
      ok.type = k::opened;
      ok.circuit = m.circuit;
      send_relay(self, x.peer, ok);
      ++st.counters.relayed_circuits;
      CRUST_LOG(st.log, info, &x.peer, "puncher",
                "relaying a circuit to " << short_string(m.peer) << " (" << st.relays->size()
                                         << " open)");
      return;
    }
    case k::data: {
      if (!st.relays)
        return;
      auto why = ec::none;
      auto to = st.relays->route(x.peer, m.circuit, m.data.size(), why);
      st.counters.relayed_bytes = st.relays->total_bytes();
      if (!to)
        return close_out(self, from, ec::not_connected);
      if (why != ec::none) {
        CRUST_LOG(st.log, info, &x.peer, "puncher",
                  "relay circuit ended: " << to_string(why));
        close_out(self, *to, why);
        close_out(self, from, why);
        return;
      }
      relay_msg out;
      out.type = k::data_out;
      out.circuit = to->circuit;
      out.data = std::move(m.data);
      send_relay(self, to->peer, out);
      return;
    }
    case k::ack: {
      if (!st.relays)
        return;
      if (auto to = st.relays->ack(x.peer, m.circuit, m.n)) {
        relay_msg out;
        out.type = k::ack_out;
        out.circuit = to->circuit;
        out.n = m.n;
        send_relay(self, to->peer, out);
      }
      return;
    }
    case k::close: {
      if (!st.relays)
        return;
      if (auto to = st.relays->close(x.peer, m.circuit))
        close_out(self, *to, m.reason == ec::none ? ec::closed_by_peer : m.reason);
      return;
    }
    default:
      return;
  }
}

/// Checks served at once, at most (each dials a few endpoints).
constexpr size_t max_served_checks = 16;

void send_reachability(puncher_pointer self, const peer_id& to, const reachability_msg& m) {
  self->send(self->state.host, service_out{to, service_id::reachability, encode(m)});
}

/// True when a check would cover what we advertise: we listen, and no STUN
/// round or port mapping is under way (their endpoints belong in it).
bool ready_to_check(const puncher_state& st) {
  return st.cfg.enabled && st.cfg.reachability_peers > 0 && !st.listening.empty()
         && !probes_pending(st) && st.upnp_status != "pending";
}

/// What a check asks about: every endpoint we would advertise, once each.
std::vector<endpoint> check_candidates(const puncher_state& st) {
  auto info = current_info_unfiltered(st);
  std::vector<endpoint> out;
  for (auto* list : {&info.local, &info.external})
    for (auto& ep : *list)
      if (out.size() < max_check_endpoints && std::find(out.begin(), out.end(), ep) == out.end())
        out.push_back(ep);
  return out;
}

/// Asks `peer` to dial us back on `candidates`.
void ask_check(puncher_pointer self, const peer_id& peer, const std::vector<endpoint>& candidates) {
  auto& st = self->state;
  if (candidates.empty())
    return;
  reachability_msg m;
  m.type = reachability_msg::kind::check;
  m.endpoints = candidates;
  randombytes_buf(&m.nonce, sizeof(m.nonce));
  st.checked_by.insert(peer);
  st.checked_endpoints.insert(m.endpoints.begin(), m.endpoints.end());
  st.checks_out[m.nonce] = peer;
  send_reachability(self, peer, m);
  CRUST_LOG(st.log, debug, &peer, "puncher",
            "asking for a reachability check of " << m.endpoints.size() << " endpoint(s)");
}

/// Asks for checks while what we would advertise has endpoints no check
/// covered yet (at start, and when STUN or the gateway gave us new ones),
/// of up to `reachability_peers` connected nodes.
void maybe_check(puncher_pointer self) {
  auto& st = self->state;
  if (!ready_to_check(st))
    return;
  auto candidates = check_candidates(st);
  if (std::all_of(candidates.begin(), candidates.end(),
                  [&](const endpoint& ep) { return st.checked_endpoints.count(ep) > 0; }))
    return;
  size_t asked = 0;
  for (auto& peer : st.check_peers) {
    if (asked == st.cfg.reachability_peers)
      break;
    ask_check(self, peer, candidates);
    ++asked;
  }
}

/// A peer asks us to dial it back: only at the address it connects from,
/// at most one check per peer per interval, a few checks at once.
void serve_check(puncher_pointer self, const peer_id& from, reachability_msg& m) {
  auto& st = self->state;
  auto now = self->clock().now();
  puncher_state::served_check sc;
  sc.requester = from;
  sc.result.type = reachability_msg::kind::result;
  sc.result.nonce = m.nonce;
  auto addr = st.peer_addresses.find(from);
  auto last = st.last_served.find(from);
  bool allowed = st.cfg.enabled && st.cfg.serve_reachability && addr != st.peer_addresses.end()
                 && (last == st.last_served.end()
                     || now - last->second >= st.cfg.reachability_interval)
                 && st.served.size() < max_served_checks;
  if (allowed)
    st.last_served[from] = now;
  auto key = st.next_key++;
  for (auto& ep : m.endpoints) {
    if (!allowed || ep.address != addr->second) {
      sc.result.results.emplace_back(ep, reach_status::refused);
      continue;
    }
    auto id = st.next_key++;
    st.probe_slots[id] = {key, sc.result.results.size()};
    sc.result.results.emplace_back(ep, reach_status::unreachable);
    ++sc.pending;
    ++st.counters.probes_served;
    self->send(st.host, reach_probe{id, ep, from});
  }
  if (sc.pending == 0) {
    send_reachability(self, from, sc.result);
    return;
  }
  CRUST_LOG(st.log, debug, &from, "puncher",
            "dialling back " << sc.pending << " of " << m.endpoints.size()
                             << " endpoint(s) for a reachability check");
  st.served.emplace(key, std::move(sc));
}

void on_probe_done(puncher_pointer self, const reach_probe_done& x) {
  auto& st = self->state;
  auto slot = st.probe_slots.find(x.id);
  if (slot == st.probe_slots.end())
    return;
  auto [key, index] = slot->second;
  st.probe_slots.erase(slot);
  auto i = st.served.find(key);
  if (i == st.served.end())
    return;
  auto& sc = i->second;
  if (x.reached)
    sc.result.results[index].second = reach_status::reachable;
  if (--sc.pending > 0)
    return;
  send_reachability(self, sc.requester, sc.result);
  st.served.erase(i);
}

void on_check_result(puncher_pointer self, const peer_id& from, const reachability_msg& m) {
  auto& st = self->state;
  auto i = st.checks_out.find(m.nonce);
  if (i == st.checks_out.end() || i->second != from)
    return; // not ours, or not from whom we asked
  st.checks_out.erase(i);
  auto before = st.reachability.unreachable();
  for (auto& [ep, status] : m.results)
    st.reachability.on_result(from, ep, status);
  auto unreachable = st.reachability.unreachable();
  CRUST_LOG(st.log, info, &from, "puncher",
            "reachability check: " << st.reachability.reachable().size()
                                   << " endpoint(s) reachable from outside, "
                                   << unreachable.size() << " not");
  if (unreachable != before)
    self->send(st.host, reachability_changed{std::move(unreachable)});
}

void on_reachability(puncher_pointer self, const service_in& x) {
  auto& st = self->state;
  reachability_msg m;
  if (auto err = decode(x.body, m); err != ec::none) {
    CRUST_LOG(st.log, info, &x.peer, "puncher", "bad reachability message: " << to_string(err));
    return;
  }
  if (m.type == reachability_msg::kind::check)
    serve_check(self, x.peer, m);
  else
    on_check_result(self, x.peer, m);
}

} // namespace

connection_info current_info_unfiltered(const puncher_state& st) {
  connection_info info;
  info.peer = st.self_id;
  info.local = reachable_endpoints(st.listening);
  // Ports the gateway forwards come first: they work whatever the NAT class.
  for (auto& ep : st.upnp_mapped)
    info.external.push_back(ep);
  // STUN's word first; without it, what several peers agree on.
  auto ext = st.classifier.external();
  if (!ext && st.classifier.classify() == nat_class::unknown)
    ext = st.observed.trusted_udp();
  if (ext && std::find(info.external.begin(), info.external.end(), *ext) == info.external.end())
    info.external.push_back(*ext);
  info.nat = st.classifier.classify();
  if (info.nat == nat_class::unknown && st.udp_local)
    info.nat = st.observed.classify(st.local_addresses, st.udp_local->port);
  if (info.nat == nat_class::endpoint_dependent) {
    // No mapping of ours is anyone else's: the ones STUN servers saw tell
    // peers the address our NAT maps to and how it picks ports (§9.2).
    for (auto& ep : st.classifier.mapped())
      if (info.external.size() < max_info_endpoints
          && std::find(info.external.begin(), info.external.end(), ep) == info.external.end())
        info.external.push_back(ep);
  }
  return info;
}

connection_info current_info(const puncher_state& st) {
  auto info = current_info_unfiltered(st);
  // A TCP endpoint dial-backs could not reach is no use to a peer (UDP ones
  // stay: a NAT filters unsolicited datagrams, yet they are what punching
  // aims at).
  auto useless = [&](const endpoint& ep) {
    return ep.proto == protocol::tcp && st.reachability.is_unreachable(ep);
  };
  for (auto* list : {&info.local, &info.external})
    list->erase(std::remove_if(list->begin(), list->end(), useless), list->end());
  // No STUN answer and no UDP mapping peers agree on (UDP blocked): the
  // address our TCP links come from, with our listening port, is where a
  // NAT that keeps ports maps that port — a target for TCP simultaneous
  // open, not a way in (PROTOCOL.md §9.4; never dial-back checked).
  if (info.nat == nat_class::unknown && info.external.size() < max_info_endpoints
      && std::none_of(info.external.begin(), info.external.end(),
                      [](const endpoint& ep) { return ep.proto == protocol::udp; }))
    if (auto address = st.observed.tcp_address(st.local_addresses))
      for (auto& ep : info.local)
        if (ep.proto == protocol::tcp && !is_ipv6_address(ep.address)) {
          endpoint guess{protocol::tcp, *address, ep.port};
          if (std::find(info.external.begin(), info.external.end(), guess)
              == info.external.end())
            info.external.push_back(guess);
          break;
        }
  return info;
}

puncher_impl::behavior_type puncher(puncher_pointer self, nat_config cfg, peer_id self_id,
                                    nat_host_actor host, routing_actor routing, logger_ptr log) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.self_id = self_id;
  st.host = std::move(host);
  st.routing = std::move(routing);
  st.log = std::move(log);
  if (st.cfg.serve_relay)
    st.relays.emplace(st.cfg.relay);
  // Linked to the node's manager: whenever it ends, so do we — after asking
  // the UPnP client to remove our mappings (it quits once it has).
  self->set_exit_handler([self](const caf::exit_msg& x) {
    if (self->state.upnp)
      self->send(self->state.upnp, port_unmap_atom::value);
    self->quit(x.reason);
  });
  return {
    [self](listening& x) {
      auto& st = self->state;
      st.listening = x.endpoints;
      auto had_udp = st.udp_local.has_value();
      st.udp_local.reset();
      for (auto& ep : x.endpoints)
        if (ep.proto == protocol::udp)
          st.udp_local = ep;
      if (!st.udp_local)
        return;
      st.local_addresses.clear();
      for (auto& i : local_interfaces())
        st.local_addresses.push_back(i.address);
      st.classifier.set_local(st.local_addresses, st.udp_local->port);
      if (!had_udp) {
        if (st.cfg.upnp && !st.upnp) {
          st.upnp = self->spawn<caf::detached>(port_mapper, st.log);
          request_upnp(self);
        }
        start_stun_round(self);
        if (!st.cfg.stun_servers.empty())
          self->delayed_send(self, st.cfg.stun_refresh, stun_refresh_atom::value);
      }
    },
    [self](const connection_up& x) {
      auto& st = self->state;
      st.connected.insert(x.peer);
      if (x.path != path_kind::relayed) {
        st.peer_addresses[x.peer] = x.remote.address;
        if (x.role == node_role::node) {
          st.check_peers.insert(x.peer);
          if (ready_to_check(st) && st.checked_by.size() < st.cfg.reachability_peers
              && !st.checked_by.count(x.peer))
            ask_check(self, x.peer, check_candidates(st));
          else
            maybe_check(self); // the first node peer, once STUN is done
        }
      }
      // A relayed link's handshake sees the relay's side, not our NAT's.
      if (x.path != path_kind::relayed)
        st.observed.add(x.peer, x.remote.address, x.observed);
      if (x.path == path_kind::relayed) {
        auto& link = st.relayed[x.peer];
        link.ours = x.dir == direction::outbound;
        link.wait = st.cfg.relay_upgrade;
        // A hard NAT on one side, an easy one on the other: birthday
        // probing may find a direct path, and the sooner the better.
        auto t = st.traversals.find(x.peer);
        bool probe = link.ours && t != st.traversals.end() && t->second.theirs
                     && birthday_enabled(st.cfg)
                     && birthday_role(current_info(st), *t->second.theirs) != probe_role::none;
        schedule_upgrade(self, x.peer,
                         probe ? std::optional{st.cfg.birthday_delay} : std::nullopt);
      } else if (st.relayed.erase(x.peer) > 0) {
        ++st.counters.upgrades_succeeded; // the node moved the link
      }
      if (auto i = st.traversals.find(x.peer); i != st.traversals.end()) {
        if (!i->second.upgrade)
          ++st.counters.traversals_succeeded;
        if (i->second.role != probe_role::none && x.path != path_kind::relayed)
          ++st.counters.birthday_succeeded;
        CRUST_LOG(st.log, info, &x.peer, "puncher",
                  (i->second.upgrade ? "upgrade done: " : "traversal done: ")
                    << to_string(x.path));
        end_traversal(self, i);
      }
    },
    [self](const connection_down& x) {
      auto& st = self->state;
      st.connected.erase(x.peer);
      st.peer_addresses.erase(x.peer);
      st.check_peers.erase(x.peer);
      st.last_served.erase(x.peer);
      st.observed.remove(x.peer);
      st.introductions.erase(x.peer);
      st.relayed.erase(x.peer);
      if (auto b = st.last_birthday.find(x.peer);
          b != st.last_birthday.end()
          && self->clock().now() - b->second >= st.cfg.birthday_interval)
        st.last_birthday.erase(b); // bounded by the peers we are connected to, or recent ones
      if (auto i = st.traversals.find(x.peer); i != st.traversals.end() && i->second.upgrade)
        end_traversal(self, i); // nothing left to upgrade
      if (st.relays)
        for (auto& s : st.relays->drop_peer(x.peer))
          close_out(self, s, ec::closed_by_peer);
    },
    [self](service_in& x) {
      if (x.service == service_id::rendezvous)
        on_rendezvous(self, x);
      else if (x.service == service_id::relay)
        on_relay(self, x);
      else if (x.service == service_id::reachability)
        on_reachability(self, x);
    },
    [self](reach_probe_done& x) { on_probe_done(self, x); },
    [self](relay_refused& x) { on_relay_refused(self, x); },
    [self](raw_datagram& x) { on_datagram(self, x); },
    [self](connect_via& x) {
      auto& st = self->state;
      if (!st.cfg.enabled)
        return self->send(st.routing, traversal_failed{x.peer, ec::unsupported,
                                                       "NAT traversal is off"});
      if (x.peer == st.self_id || x.peer == x.through)
        return self->send(st.routing, traversal_failed{x.peer, ec::invalid_argument,
                                                       "cannot reach that peer through itself"});
      if (st.connected.count(x.peer))
        return; // connected already: its connection_up was reported
      if (!st.connected.count(x.through))
        return self->send(st.routing,
                          traversal_failed{x.peer, ec::not_connected,
                                           "the rendezvous peer " + short_string(x.through)
                                             + " is not connected"});
      puncher_state::traversal t;
      t.initiator = true;
      t.through = x.through;
      randombytes_buf(&t.nonce, sizeof(t.nonce));
      t.started = self->clock().now();
      t.deadline = t.started + st.cfg.traversal_timeout;
      st.traversals[x.peer] = t;
      ++st.counters.traversals_started;
      if (!probes_pending(st))
        flush_waiting(self);
      ensure_ticking(self);
    },
    [self](prepare_connection_info& x) {
      auto& st = self->state;
      if (probes_pending(st))
        st.info_tokens.push_back(x.token);
      else
        self->send(st.routing, connection_info_prepared{x.token, current_info(st)});
    },
    [self](connect_with_info& x) {
      auto& st = self->state;
      auto peer = x.theirs.peer;
      if (!st.cfg.enabled)
        return self->send(st.routing, traversal_failed{peer, ec::unsupported,
                                                       "NAT traversal is off"});
      if (peer == st.self_id || peer == peer_id{})
        return self->send(st.routing, traversal_failed{peer, ec::invalid_argument,
                                                       "their info names no other peer"});
      if (st.connected.count(peer))
        return;
      puncher_state::traversal t;
      t.initiator = true;
      t.offered = true; // out of band: nothing to send
      t.theirs = std::move(x.theirs);
      t.started = self->clock().now();
      t.deadline = t.started + st.cfg.traversal_timeout;
      st.traversals[peer] = std::move(t);
      ++st.counters.traversals_started;
      begin_punching(self, peer);
    },
    [self](nat_atom) {
      auto& st = self->state;
      auto out = st.counters;
      out.nat = st.classifier.classify();
      out.external = st.classifier.mapped();
      out.stun_servers_answered = st.classifier.servers();
      out.upnp = st.upnp_status;
      out.observed_address = st.observed.trusted_address().value_or("");
      if (out.nat == nat_class::unknown)
        out.nat = current_info(st).nat;
      out.upnp_mapped = st.upnp_mapped;
      out.reachable = st.reachability.reachable();
      out.unreachable = st.reachability.unreachable();
      if (st.relays) {
        out.relayed_bytes = st.relays->total_bytes();
        out.relay_circuits_open = st.relays->size();
      }
      return out;
    },
    [self](nat_tick_atom) { tick(self); },
    [self](upnp_renew_atom) { request_upnp(self); },
    [self](relay_upgrade_atom, const peer_id& peer, uint64_t generation) {
      try_upgrade(self, peer, generation);
    },
    [self](stun_refresh_atom) {
      auto& st = self->state;
      start_stun_round(self);
      self->delayed_send(self, st.cfg.stun_refresh, stun_refresh_atom::value);
    },
  };
}

} // namespace crust
