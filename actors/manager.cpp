#include "actors/manager.hpp"

#include "actors/acceptor.hpp"
#include "actors/connection.hpp"
#include "actors/error.hpp"
#include "actors/metrics.hpp"
#include "actors/udp_mux.hpp"
#include "transport/address.hpp"
#include "discovery/beacon.hpp"
#include "discovery/bootstrap_store.hpp"
#include "discovery/gossip.hpp"
#include "nat/puncher.hpp"
#include "nat/relay_codec.hpp"
#include "transport/handshake_payload.hpp"
#include "transport/rudp/packet.hpp"
#include "transport/tcp_stream.hpp"

#include <caf/send.hpp>

#include <sodium.h>

#include <iterator>

namespace crust {

namespace {

/// Files one handshake's duration into the stats' histogram.
void observe_handshake(node_stats& s, uint64_t us) {
  observe(s.handshake_buckets, handshake_bucket_bounds_us, us);
  s.handshake_sum_us += us;
}

/// Bytes of sends held (all peers) while replacement links are awaited.
constexpr size_t max_held_bytes = 16 * 1024 * 1024;

/// How long a shutdown waits for connections to say goodbye.
constexpr auto shutdown_timeout = std::chrono::seconds(2);

/// A batch of sends to one link goes at this many sends or bytes at the
/// latest, even while more messages wait.
constexpr size_t max_batch_sends = 256;
constexpr size_t max_batch_bytes = 256 * 1024;

/// Hands the batched sends to their link.
void flush_sends(manager_pointer self) {
  auto& st = self->state;
  if (st.batch.empty())
    return;
  if (st.batch.size() == 1)
    self->send(st.batch_to, std::move(st.batch.front()));
  else
    self->send(st.batch_to, send_batch{std::move(st.batch)});
  st.batch = std::vector<send>{};
  st.batch_bytes = 0;
}

/// Routes `x` to the link `to`: at once when nothing else waits in the
/// mailbox (no latency added to a lone send), else in a batch that goes
/// when the mailbox has been worked through, before any other message to a
/// link, or when it is full.
void route_send(manager_pointer self, const connection_actor& to, send&& x) {
  auto& st = self->state;
  if (!st.batch.empty() && st.batch_to != to)
    flush_sends(self);
  st.batch_to = to;
  st.batch_bytes += x.payload.size();
  st.batch.push_back(std::move(x));
  if (self->mailbox().empty() || st.batch.size() >= max_batch_sends
      || st.batch_bytes >= max_batch_bytes) {
    flush_sends(self);
    return;
  }
  if (!st.batch_flush_pending) {
    st.batch_flush_pending = true;
    self->send(self, send_flush_atom::value);
  }
}

/// Tells the link `to` something, after the sends batched so far (the
/// manager's messages to its links keep their order).
template <class... Ts>
void tell(manager_pointer self, const connection_actor& to, Ts&&... xs) {
  flush_sends(self);
  self->send(to, std::forward<Ts>(xs)...);
}

bool is_handshake_failure(ec x) {
  switch (x) {
    case ec::handshake_failed:
    case ec::handshake_timeout:
    case ec::bad_identity:
    case ec::protocol_version_mismatch:
    case ec::invalid_public_key:
    case ec::frame_too_large:
    case ec::malformed_frame:
      return true;
    default:
      return false;
  }
}

bool is_protocol_violation(ec x) {
  switch (x) {
    case ec::decrypt_failed:
    case ec::malformed_frame:
    case ec::unknown_frame_kind:
    case ec::truncated_frame:
    case ec::message_too_large:
    case ec::frame_too_large:
      return true;
    default:
      return false;
  }
}

connection_params params_for(manager_pointer self) {
  auto& st = self->state;
  uint16_t port = st.listening.empty() ? 0 : st.listening.front().port;
  connection_params p{st.runtime, st.id,        st.cfg.session(port),
                      st.cfg.connect_timeout, self, st.routing,
                      st.log,     st.udp_socket, st.mux,
                      st.cfg.rudp};
  p.session.credential = st.credential;
  p.receive_queue = st.cfg.limits.receive_queue;
  p.receive_rate = st.cfg.limits.receive_rate;
  p.delivery_mode = st.routing_delivery;
  return p;
}

/// Starts one attempt (TCP or reliable UDP) for the dial `key`.
void start_attempt(manager_pointer self, const endpoint& key, protocol proto) {
  auto& st = self->state;
  auto& d = st.dialing[key];
  auto target = key;
  target.proto = proto;
  connection_actor conn;
  if (proto == protocol::udp) {
    d.udp_live = true;
    d.udp_tried = true;
    conn = self->spawn<caf::linked>(udp_connection, params_for(self), direction::outbound, target,
                                    std::shared_ptr<rudp::initial_packet>{});
  } else {
    d.tcp_live = true;
    auto params = params_for(self);
    if (d.path == path_kind::punched_tcp && !st.listening.empty()) {
      // TCP simultaneous open: from our listening port, which the NAT maps
      // to the external port the peer dials, re-dialling while it punches.
      connection_params::tcp_punch punch;
      punch.local_address = st.listening.front().address;
      punch.local_port = st.listening.front().port;
      punch.window = st.cfg.nat.punch_duration;
      params.punch = std::move(punch);
    }
    conn = self->spawn<caf::linked>(connection, std::move(params), direction::outbound, target,
                                    std::shared_ptr<byte_stream>{});
  }
  st.connections.emplace(conn.id(), manager_state::live_connection{conn, target, {}, key, {}, {}});
}

void dial(manager_pointer self, const endpoint& remote, std::optional<peer_id> redial_of,
          const traversal_dial* traversal = nullptr) {
  auto& st = self->state;
  if (st.dialing.count(remote) > 0)
    return; // already under way
  auto& d = st.dialing[remote];
  d.redial_of = redial_of;
  d.id = st.next_dial_id++;
  if (traversal) {
    d.expected = traversal->expected;
    d.path = traversal->path;
  }
  using mode = node_config::transport_mode;
  if (remote.proto == protocol::udp || st.cfg.transport == mode::udp_only) {
    start_attempt(self, remote, protocol::udp);
  } else {
    start_attempt(self, remote, protocol::tcp);
    // Happy eyeballs: reliable UDP joins the race if TCP is slow (not for a
    // TCP punch: its UDP twin is the puncher's own dial).
    if (st.cfg.transport == mode::automatic && st.udp_socket && d.path != path_kind::punched_tcp)
      self->delayed_send(self, st.cfg.udp_fallback_delay, udp_fallback_atom::value, remote, d.id);
  }
  ++st.counters.dials;
  CRUST_LOG(st.log, debug, redial_of ? &*redial_of : nullptr, "manager",
            (redial_of ? "re-dialling " : "dialling ") << to_string(remote));
}

/// Tells the routing layer, counts and logs it.
void raise_alert(manager_pointer self, alert a) {
  auto& st = self->state;
  auto emit = [&](alert x) {
    ++st.counters.alerts;
    bool has_peer = x.peer != peer_id{};
    CRUST_LOG(st.log, warning, has_peer ? &x.peer : nullptr, "manager",
              "alert " << to_string(x.kind) << " (" << to_string(x.reason) << ")"
                       << (x.address.empty() ? "" : " from " + x.address) << ": " << x.detail
                       << (x.count > 1 ? " [" + std::to_string(x.count) + " times]" : ""));
    self->send(st.routing, std::move(x));
  };
  if (auto now = st.alerts.offer(std::move(a), std::chrono::steady_clock::now()))
    emit(std::move(*now));
  // Counts held back go out when their interval ends; quiet sources are
  // forgotten then too.
  if (!st.alert_flush_armed && st.alerts.sources() > 0) {
    st.alert_flush_armed = true;
    self->delayed_send(self, st.cfg.limits.alert_interval, alert_flush_atom::value);
  }
}

void flush_alerts(manager_pointer self) {
  auto& st = self->state;
  st.alert_flush_armed = false;
  for (auto& a : st.alerts.flush(std::chrono::steady_clock::now())) {
    ++st.counters.alerts;
    CRUST_LOG(st.log, warning, nullptr, "manager",
              "alert " << to_string(a.kind) << " (" << to_string(a.reason) << ")"
                       << (a.address.empty() ? "" : " from " + a.address) << ": " << a.detail
                       << " [" << a.count << " times]");
    self->send(st.routing, std::move(a));
  }
  if (st.alerts.sources() > 0) {
    st.alert_flush_armed = true;
    self->delayed_send(self, st.cfg.limits.alert_interval, alert_flush_atom::value);
  }
}

/// Why an inbound connection was refused, and when the dialer may come back.
struct refusal {
  ec reason = ec::none;
  uint32_t retry_after_ms = 0;
};

/// Cheap checks of an inbound connection before any cryptography: the
/// blacklist, then the limits. Nothing when its handshake may start (it is
/// then counted as half-open); else why not, to tell the dialer.
std::optional<refusal> admit_inbound(manager_pointer self, const endpoint& remote) {
  auto& st = self->state;
  if (st.shutting_down || st.blacklist.blocks_address(remote.address)) {
    ++st.counters.refused;
    CRUST_LOG(st.log, debug, nullptr, "manager",
              "refused " << to_string(remote)
                         << (st.shutting_down ? " (shutting down)" : " (blacklisted)"));
    if (st.shutting_down)
      return refusal{ec::shutting_down, 10000};
    return refusal{ec::blacklisted, 600000};
  }
  using v = admission_control::verdict;
  auto now = std::chrono::steady_clock::now();
  auto verdict = st.admission.admit_inbound(remote.address, st.connections.size(), now);
  if (verdict == v::admit) {
    ++st.counters.accepted;
    st.counters.half_open_peak = std::max<uint64_t>(st.counters.half_open_peak,
                                                     st.admission.half_open());
    return std::nullopt;
  }
  ++st.counters.refused;
  auto wait = static_cast<uint32_t>(st.admission.retry_after(verdict, remote.address, now).count());
  CRUST_LOG(st.log, debug, nullptr, "manager",
            "refused " << to_string(remote) << " (" << to_string(verdict) << "), retry after "
                       << wait << " ms");
  if (verdict == v::not_allowed)
    return refusal{ec::not_allowed, wait}; // whitelist mode: refusing strangers is normal
  alert a;
  a.address = remote.address;
  a.detail = "inbound " + to_string(remote.proto) + " connection refused: " + to_string(verdict);
  refusal r{ec::too_many_connections, wait};
  switch (verdict) {
    case v::too_many_connections:
      a.kind = alert_kind::connection_limit;
      a.reason = ec::too_many_connections;
      a.address.clear(); // about the node, not one source
      break;
    case v::too_many_half_open:
      a.kind = alert_kind::handshake_flood;
      a.reason = ec::too_many_connections;
      a.address.clear();
      break;
    case v::too_many_half_open_from_address:
      a.kind = alert_kind::handshake_flood;
      a.reason = ec::too_many_connections;
      break;
    default:
      r.reason = ec::rate_limited;
      // Many honest peers behind one address (a carrier-grade NAT) meet the
      // rate limit, are told when to come back and do: that is no attack.
      // Only an address that keeps coming faster than that is alerted.
      if (!st.admission.rate_flood(remote.address))
        return r;
      a.kind = alert_kind::rate_exceeded;
      a.reason = ec::rate_limited;
      break;
  }
  raise_alert(self, std::move(a));
  return r;
}

void schedule_redial(manager_pointer self, const peer_id& peer, uint32_t retry_after_ms = 0) {
  auto& st = self->state;
  if (st.shutting_down || !st.table.maintained(peer))
    return;
  auto delay = st.table.next_redial_delay(peer, st.cfg.redial_min, st.cfg.redial_max);
  // A peer that refused us named when to come back.
  delay = std::max<decltype(delay)>(delay, std::chrono::milliseconds(retry_after_ms));
  self->delayed_send(self, delay, redial_atom::value, peer);
}

/// Hands held sends to the peer's new link, or back as failed.
void release_held(manager_pointer self, const peer_id& peer,
                  const connection_actor* to, ec reason) {
  auto& st = self->state;
  auto i = st.held.find(peer);
  if (i == st.held.end())
    return;
  for (auto& x : i->second) {
    st.held_bytes -= x.payload.size();
    if (to)
      route_send(self, *to, std::move(x));
    else
      self->send(st.routing, send_failed{x.peer, reason, std::move(x.payload)});
  }
  st.held.erase(i);
}

/// A link of `peer` ends while it still delivers what the peer sent on it:
/// the links after it wait for it, and so do our sends. Returns how many of
/// the peer's links drain now.
size_t drain_as_twin(manager_state& st, manager_state::live_connection& c, const peer_id& peer) {
  c.draining_twin = true;
  return ++st.twins[peer];
}

/// A duplicate link of `peer` finished: when it was the last, the active
/// link delivers again and our held sends go to it.
void twin_drained(manager_pointer self, const peer_id& peer) {
  auto& st = self->state;
  auto i = st.twins.find(peer);
  if (i == st.twins.end())
    return;
  if (--i->second > 0) {
    // Twins still closing may have been admitted gated, behind the one
    // that finished (a link that lost to a third while an older twin
    // drained): they carry what the peer sent before the active link, and
    // deliver it now. Held gated, they would never finish.
    for (auto& [id, c] : st.connections)
      if (c.draining_twin && c.peer == peer)
        tell(self, c.handle, gate_atom::value, false);
    return;
  }
  st.twins.erase(i);
  auto link = st.table.active(peer);
  if (!link) {
    if (!st.table.in_grace(peer))
      release_held(self, peer, nullptr, ec::not_connected);
    return;
  }
  auto c = st.connections.find(link->id);
  if (c == st.connections.end())
    return;
  tell(self, c->second.handle, gate_atom::value, false);
  release_held(self, peer, &c->second.handle, ec::none);
}

/// Discovery and the NAT puncher hear of every link that comes and goes.
template <class Event>
void tell_helpers(manager_pointer self, const Event& x) {
  auto& st = self->state;
  if (st.store)
    self->send(st.store, x);
  if (st.gossiper)
    self->send(st.gossiper, x);
  if (st.puncher)
    self->send(st.puncher, x);
}

/// Ends a helper actor we are linked to, without its exit ending us.
template <class Handle>
void stop_linked(manager_pointer self, Handle& h) {
  self->unlink_from(h);
  self->send_exit(h, caf::exit_reason::user_shutdown);
  h = nullptr;
}

/// Sets `field` to `value` and files `name` in `changed` when they differ
/// (a reload's bookkeeping).
template <class T, class U>
void update(T& field, const U& value, const char* name, std::vector<std::string>& changed) {
  if (field != static_cast<T>(value)) {
    field = static_cast<T>(value);
    changed.emplace_back(name);
  }
}

/// A reload changed the beacon's settings: the old beacon goes, a new one
/// (if any) announces where we listen.
void restart_beacon(manager_pointer self) {
  auto& st = self->state;
  if (st.beacon)
    stop_linked(self, st.beacon);
  if (st.cfg.discovery.beacon == beacon_mode::off || st.cfg.role == node_role::client)
    return;
  st.beacon = self->spawn<caf::linked>(beacon, st.runtime, st.cfg.discovery, st.cfg.network,
                                       st.id, st.store, st.routing, st.log);
  self->send(st.beacon, listening{st.listening});
}

/// A reload changed gossip's settings: the old gossip actor goes; a new one
/// (if any) hears where we listen, every link up now, and the puncher's
/// last reachability verdict, as if it had been there all along.
void restart_gossip(manager_pointer self) {
  auto& st = self->state;
  if (st.gossiper)
    stop_linked(self, st.gossiper);
  if (!st.cfg.discovery.gossip)
    return;
  discovery_host_actor host = self;
  st.gossiper = self->spawn<caf::linked>(gossip, st.cfg.discovery, st.cfg.network, st.id, host,
                                         st.store, st.routing, st.log);
  self->send(st.gossiper, listening{st.listening});
  for (auto& peer : st.table.connected())
    if (auto link = st.table.active(peer))
      self->send(st.gossiper, connection_up{peer, link->remote, link->dir, link->remote.proto,
                                            link->role, link->path, {}, {}});
  if (st.last_reachability)
    self->send(st.gossiper, *st.last_reachability);
}

void start_discovery(manager_pointer self) {
  auto& st = self->state;
  auto dcfg = st.cfg.discovery;
  for (auto& c : st.cfg.contacts)
    dcfg.fallback_contacts.push_back(c);
  // A client never listens: it is nobody's bootstrap contact and announces nothing.
  if (st.cfg.role == node_role::client) {
    dcfg.serve_bootstrap_list = false;
    dcfg.beacon = beacon_mode::off;
  }
  discovery_host_actor host = self;
  st.store = self->spawn<caf::linked>(bootstrap_store, dcfg, st.cfg.network, st.id->id(), host,
                                      st.routing, st.log);
  if (dcfg.gossip)
    st.gossiper = self->spawn<caf::linked>(gossip, dcfg, st.cfg.network, st.id, host, st.store,
                                           st.routing, st.log);
  if (dcfg.beacon != beacon_mode::off)
    st.beacon = self->spawn<caf::linked>(beacon, st.runtime, dcfg, st.cfg.network, st.id,
                                         st.store, st.routing, st.log);
}

/// Our end of a relay circuit: a stream whose messages go to the relay.
std::shared_ptr<relay_stream> make_circuit(manager_pointer self, const peer_id& relay,
                                           uint64_t id, bool open) {
  manager_actor me = self;
  auto out = [me, relay](const relay_msg& m) {
    caf::anon_send(me, service_out{relay, service_id::relay, encode(m)});
  };
  auto stream = std::make_shared<relay_stream>(id, std::move(out), open);
  self->state.circuits[{relay, id}] = stream;
  return stream;
}

/// Spawns a connection over a relay circuit.
void spawn_relayed(manager_pointer self, const peer_id& relay, uint64_t id, direction dir,
                   std::shared_ptr<relay_stream> stream, std::optional<peer_id> expected) {
  auto& st = self->state;
  endpoint remote;
  if (auto link = st.table.active(relay))
    remote = link->remote;
  auto conn = self->spawn<caf::linked>(connection, params_for(self), dir, remote,
                                       std::shared_ptr<byte_stream>{std::move(stream)});
  manager_state::live_connection c{conn, remote, {}, {}, {}, {}};
  c.circuit = std::make_pair(relay, id);
  c.expected = expected;
  st.connections.emplace(conn.id(), std::move(c));
}

/// A circuit we asked for ended before the relay opened it: the traversal
/// that asked hears it now, with why (nothing for circuits already open).
void refused_before_open(manager_pointer self, const std::pair<peer_id, uint64_t>& key,
                         ec reason) {
  auto& st = self->state;
  auto j = st.circuits_opening.find(key);
  if (j == st.circuits_opening.end())
    return;
  if (st.puncher)
    self->send(st.puncher, relay_refused{key.first, j->second, reason});
  st.circuits_opening.erase(j);
}

/// A message from a relay about one of our circuits.
void on_relay_message(manager_pointer self, const peer_id& relay, relay_msg& m) {
  auto& st = self->state;
  auto key = std::make_pair(relay, m.circuit);
  auto i = st.circuits.find(key);
  using k = relay_msg::kind;
  if (m.type == k::incoming) {
    if (i != st.circuits.end() || st.shutting_down || st.blacklist.blocks_peer(m.peer)
        || !st.admission.room_for_link(st.connections.size())) {
      relay_msg no{k::close, m.circuit, {}, {}, 0, ec::blacklisted};
      self->send(self, service_out{relay, service_id::relay, encode(no)});
      return;
    }
    CRUST_LOG(st.log, info, &m.peer, "manager",
              "incoming relay circuit through " << short_string(relay));
    auto stream = make_circuit(self, relay, m.circuit, true);
    spawn_relayed(self, relay, m.circuit, direction::inbound, stream, std::nullopt);
    return;
  }
  if (i == st.circuits.end()) {
    if (m.type == k::data_out) {
      relay_msg gone{k::close, m.circuit, {}, {}, 0, ec::not_connected};
      self->send(self, service_out{relay, service_id::relay, encode(gone)});
    }
    return;
  }
  auto stream = i->second;
  switch (m.type) {
    case k::opened:
      st.circuits_opening.erase(key);
      stream->opened();
      break;
    case k::data_out: stream->deliver(std::move(m.data)); break;
    case k::ack_out: stream->credit(m.n); break;
    case k::close_out:
      refused_before_open(self, key, m.reason);
      st.circuits.erase(i);
      stream->end(m.reason == ec::closed_by_peer ? ec::closed_by_peer : m.reason,
                  "the relay closed the circuit (" + to_string(m.reason) + ")");
      break;
    default: break;
  }
}

/// The relay's link went: so did every circuit through it.
void end_circuits_via(manager_pointer self, const peer_id& relay) {
  auto& st = self->state;
  for (auto i = st.circuits.begin(); i != st.circuits.end();) {
    if (i->first.first == relay) {
      auto stream = i->second;
      refused_before_open(self, i->first, ec::not_connected);
      i = st.circuits.erase(i);
      stream->end(ec::closed_by_peer, "the relay's link went down");
    } else {
      ++i;
    }
  }
}

void start_nat(manager_pointer self) {
  auto& st = self->state;
  if (!st.cfg.nat.enabled)
    return;
  nat_host_actor host = self;
  st.puncher = self->spawn<caf::linked>(puncher, st.cfg.nat, st.id->id(), host, st.routing,
                                        st.log);
}

void apply_closure(manager_pointer self, const peer_id& peer, ec reason,
                   const connection_table::closure& c) {
  auto& st = self->state;
  if (c.report_down) {
    release_held(self, peer, nullptr, ec::not_connected);
    CRUST_LOG(st.log, info, &peer, "manager", "connection down: " << to_string(reason));
    tell_helpers(self, connection_down{peer, reason});
    end_circuits_via(self, peer);
    self->send(st.routing, connection_down{peer, reason});
  }
  if (c.grace_token)
    self->delayed_send(self, st.cfg.duplicate_grace, grace_atom::value, peer, *c.grace_token);
  if (c.redial)
    schedule_redial(self, peer);
}

/// Closes `peer`'s link for `reason` on our own decision: it stops serving
/// the peer at once and the routing layer hears `connection_down` now.
void close_link(manager_pointer self, const peer_id& peer, ec reason) {
  auto& st = self->state;
  st.table.set_maintained(peer, false);
  auto link = st.table.active(peer);
  if (!link)
    return;
  auto id = link->id;
  if (auto i = st.connections.find(id); i != st.connections.end())
    tell(self, i->second.handle, close_atom::value, reason);
  apply_closure(self, peer, reason, st.table.on_closed(peer, id, reason));
}

/// Opens the node's UDP socket (once): on the UDP port of the same number
/// as TCP's when it can, else a random one.
void start_udp(manager_pointer self, uint16_t preferred) {
  auto& st = self->state;
  if (!st.cfg.udp || st.udp_socket || st.shutting_down)
    return;
  using udp = datagram_socket::udp;
  boost::system::error_code err;
  auto addr = boost::asio::ip::make_address(st.cfg.listen_address, err);
  if (err)
    addr = boost::asio::ip::make_address("::");
  datagram_socket::options opts;
  opts.v6_only = false; // "::" serves IPv4 too
  opts.buffer_bytes = 4 * 1024 * 1024; // bursts of a whole window must not overflow it
  opts.dont_fragment = true;           // reliable UDP probes the path MTU
  std::vector<uint16_t> ports;
  if (st.cfg.udp_port != 0)
    ports.push_back(st.cfg.udp_port);
  else if (preferred != 0)
    ports.push_back(preferred);
  ports.push_back(0);
  for (auto port : ports) {
    try {
      st.udp_socket = datagram_socket::open(st.runtime->context(), udp::endpoint(addr, port), opts);
      break;
    } catch (const std::exception& e) {
      CRUST_LOG(st.log, debug, nullptr, "manager",
                "UDP port " << port << " unavailable: " << e.what());
    }
  }
  if (!st.udp_socket) {
    alert a;
    a.kind = alert_kind::listen_failure;
    a.reason = ec::address_in_use;
    a.detail = "no UDP socket: reliable UDP is off";
    raise_alert(self, std::move(a));
    return;
  }
  auto local = st.udp_socket->local_endpoint();
  st.udp_local = endpoint{protocol::udp, local.address().to_string(), local.port()};
  st.mux = self->spawn<caf::linked>(udp_mux, st.runtime, st.udp_socket, manager_actor{self},
                                    st.puncher, st.log);
  CRUST_LOG(st.log, info, nullptr, "manager", "reliable UDP on " << to_string(*st.udp_local));
}

void start_listening(manager_pointer self) {
  auto& st = self->state;
  if (st.acceptor || st.cfg.role == node_role::client || st.shutting_down)
    return;
  st.acceptor = self->spawn<caf::linked>(acceptor, st.runtime, manager_actor{self},
                                         st.cfg.listen_address, st.cfg.tcp_port,
                                         st.cfg.port_fallback,
                                         st.cfg.nat.enabled && st.cfg.nat.tcp_punch);
}

void stop_listening(manager_pointer self) {
  auto& st = self->state;
  if (!st.acceptor)
    return;
  stop_linked(self, st.acceptor);
  st.listening.clear();
  if (st.gossiper)
    self->send(st.gossiper, listening{});
  if (st.beacon)
    self->send(st.beacon, listening{});
  self->send(st.routing, listening{});
}

/// Asks every admitted link for its figures and hands them all to `done`
/// (a link that does not answer within a second is reported with what the
/// manager knows).
void collect_peers(manager_pointer self, std::function<void(std::vector<peer_info>)> done) {
  auto& st = self->state;
  auto peers = st.table.connected();
  if (peers.empty()) {
    done({});
    return;
  }
  auto results = std::make_shared<std::vector<peer_info>>();
  auto pending = std::make_shared<size_t>(peers.size());
  auto add = [results, pending, done](peer_info info) {
    results->push_back(std::move(info));
    if (--*pending == 0)
      done(std::move(*results));
  };
  for (auto& peer : peers) {
    auto link = st.table.active(peer);
    peer_info base;
    base.peer = peer;
    base.remote = link->remote;
    base.dir = link->dir;
    base.role = link->role;
    base.path = link->path;
    base.maintained = st.table.maintained(peer);
    auto i = st.connections.find(link->id);
    if (i == st.connections.end()) {
      add(base);
      continue;
    }
    self->request(i->second.handle, std::chrono::seconds(1), peers_atom::value)
      .then(
        [add, base](peer_info info) mutable {
          base.transport = info.transport;
          base.messages_sent = info.messages_sent;
          base.messages_received = info.messages_received;
          base.bytes_sent = info.bytes_sent;
          base.bytes_received = info.bytes_received;
          base.rtt_us = info.rtt_us;
          base.observed = info.observed;
          base.cipher = std::move(info.cipher);
          add(base);
        },
        [add, base](caf::error&) mutable { add(base); });
  }
}

/// A fresh UDP socket of `to`'s family on any port, for a connection (or a
/// birthday probe) of its own; throws like `datagram_socket::open`.
std::shared_ptr<datagram_socket> open_own_socket(manager_state& st,
                                                 const boost::asio::ip::address& to) {
  auto any = to.is_v4() ? boost::asio::ip::address(boost::asio::ip::address_v4::any())
                        : boost::asio::ip::address(boost::asio::ip::address_v6::any());
  return datagram_socket::open(st.runtime->context(), {any, 0}, {});
}

/// Datagrams a connection's own socket received, to that connection.
void deliver_own(const caf::strong_actor_ptr& conn,
                 std::vector<std::pair<bytes, datagram_socket::udp::endpoint>>& in) {
  datagram_batch batch;
  for (auto& d : in)
    batch.data.push_back(std::move(d.first));
  caf::anon_send(caf::actor_cast<connection_actor>(conn), std::move(batch));
}

/// A reliable-UDP dial to `remote` from `sock` rather than the node's
/// socket; the socket lives as long as the connection.
connection_actor dial_from_own_socket(manager_pointer self, connection_params params,
                                      std::shared_ptr<datagram_socket> sock,
                                      const endpoint& remote) {
  params.udp_socket = sock;
  params.mux = nullptr; // its datagrams come from its own socket, not the node's
  auto conn = self->spawn<caf::linked>(udp_connection, std::move(params), direction::outbound,
                                       remote, std::shared_ptr<rudp::initial_packet>{});
  self->state.own_sockets.emplace(conn.id(), std::move(sock));
  return conn;
}

/// Closes the sockets held for `peer` (birthday probing), but the one a
/// link runs on (it moved to `own_sockets`).
void release_held_sockets(manager_pointer self, const peer_id& peer) {
  auto& st = self->state;
  auto i = st.birthday_held.find(peer);
  if (i == st.birthday_held.end())
    return;
  for (auto& h : i->second.sockets)
    if (h.socket)
      h.socket->close();
  st.held_total -= i->second.sockets.size();
  st.birthday_held.erase(i);
}

/// Birthday probing's hard side: `x.count` more sockets, each sending
/// `x.payload` once to the peer's mapping; the first to hear from its
/// address reports a `held_hit`.
void hold_more(manager_pointer self, hold_sockets& x) {
  auto& st = self->state;
  if (st.shutting_down || !st.udp_socket || x.target.proto != protocol::udp
      || x.target.port == 0 || st.blacklist.blocks_address(x.target.address)
      || st.blacklist.blocks_peer(x.peer))
    return;
  if (auto link = st.table.active(x.peer); link && link->path != path_kind::relayed)
    return; // a path of its own already
  boost::system::error_code err;
  auto to_addr = boost::asio::ip::make_address(x.target.address, err);
  if (err)
    return;
  datagram_socket::udp::endpoint to{to_addr, x.target.port};
  auto& set = st.birthday_held[x.peer];
  if (set.sockets.empty())
    set.target = x.target;
  if (set.target != x.target)
    return; // one target per attempt
  caf::weak_actor_ptr weak_self = self->ctrl();
  for (uint32_t n = 0; n < x.count && st.held_total < manager_state::max_held; ++n) {
    manager_state::held_socket h;
    try {
      h.socket = open_own_socket(st, to_addr);
    } catch (const std::exception& e) {
      CRUST_LOG(st.log, info, &x.peer, "manager",
                "birthday probing: no more sockets (" << e.what() << ")");
      break;
    }
    h.route = std::make_shared<manager_state::held_route>();
    auto index = static_cast<uint32_t>(set.sockets.size());
    h.socket->start_batched([route = h.route, weak_self, peer = x.peer, index, to_addr](
                              std::vector<std::pair<bytes, datagram_socket::udp::endpoint>> in) {
      caf::strong_actor_ptr conn;
      {
        std::lock_guard<std::mutex> guard{route->mtx};
        conn = route->conn.lock();
      }
      if (conn)
        return deliver_own(conn, in);
      for (auto& d : in) {
        if (d.second.address() != to_addr || route->reported.exchange(true))
          continue;
        if (auto mgr = weak_self.lock())
          caf::anon_send(caf::actor_cast<manager_actor>(mgr),
                         held_hit{peer, index,
                                  endpoint{protocol::udp, d.second.address().to_string(),
                                           d.second.port()}});
        return;
      }
    });
    h.socket->send_to(x.payload, to);
    set.sockets.push_back(std::move(h));
    ++st.held_total;
  }
}

/// A held socket heard from the peer: its mapping is the one the peer's
/// probe found, and the path is open both ways. The link runs on it.
void on_held_hit(manager_pointer self, const held_hit& x) {
  auto& st = self->state;
  auto i = st.birthday_held.find(x.peer);
  if (i == st.birthday_held.end() || x.index >= i->second.sockets.size() || st.shutting_down)
    return;
  if (auto link = st.table.active(x.peer); link && link->path != path_kind::relayed)
    return release_held_sockets(self, x.peer);
  auto h = std::move(i->second.sockets[x.index]);
  i->second.sockets[x.index] = {};
  release_held_sockets(self, x.peer); // the others
  auto conn = dial_from_own_socket(self, params_for(self), h.socket, x.from);
  {
    std::lock_guard<std::mutex> guard{h.route->mtx};
    h.route->conn = conn->ctrl();
  }
  manager_state::live_connection c{conn, x.from, {}, {}, {}, {}};
  c.expected = x.peer;
  c.own_path = path_kind::punched_udp;
  st.connections.emplace(conn.id(), std::move(c));
  ++st.counters.dials;
  CRUST_LOG(st.log, info, &x.peer, "manager",
            "birthday probing hit: dialling " << to_string(x.from) << " from socket " << x.index);
}

void begin_shutdown(manager_pointer self) {
  auto& st = self->state;
  if (st.shutting_down)
    return;
  stop_listening(self);
  while (!st.birthday_held.empty())
    release_held_sockets(self, st.birthday_held.begin()->first);
  st.shutting_down = true;
  if (st.connections.empty()) {
    self->quit();
    return;
  }
  for (auto& [id, c] : st.connections)
    tell(self, c.handle, close_atom::value, ec::shutting_down);
  self->delayed_send(self, shutdown_timeout, stop_atom::value);
}

} // namespace

manager_actor::behavior_type manager(manager_pointer self, std::shared_ptr<io_runtime> runtime,
                                     node_config cfg, std::shared_ptr<const identity> id,
                                     routing_actor routing, delivery mode) {
  auto& st = self->state;
  st.runtime = std::move(runtime);
  st.cfg = std::move(cfg);
  st.id = std::move(id);
  st.credential = static_credential::make(*st.id);
  st.routing = routing;
  st.routing_delivery = mode;
  st.table = connection_table{st.id->id()};
  st.log = std::make_shared<logger>(st.cfg.log, st.id->id(), st.cfg.log_sink);
  st.admission = admission_control{st.cfg.limits};
  st.alerts = alert_limiter{st.cfg.limits.alert_interval};
  // Without a routing layer nobody hears what happens: stop.
  self->monitor(routing);
  self->set_down_handler([self](const caf::down_msg& x) {
    if (x.source == self->state.routing.address())
      begin_shutdown(self);
  });
  start_discovery(self);
  start_nat(self);
  if (st.cfg.listen && st.cfg.role != node_role::client)
    start_listening(self);
  else
    start_udp(self, 0); // still needed to dial over reliable UDP
  return {
    // -- commands from the routing layer --------------------------------------
    // First: CAF tries the handlers in order, and sends are most of them.
    [self](send& x) {
      auto& st = self->state;
      if (st.shutting_down) {
        self->send(st.routing, send_failed{x.peer, ec::shutting_down, std::move(x.payload)});
        return;
      }
      auto link = st.table.active(x.peer);
      bool wait = link ? st.twins.count(x.peer) > 0 : st.table.in_grace(x.peer);
      if (wait && st.held_bytes + x.payload.size() <= max_held_bytes) {
        st.held_bytes += x.payload.size();
        st.held[x.peer].push_back(std::move(x));
        return;
      }
      if (!link) {
        self->send(st.routing, send_failed{x.peer, ec::not_connected, std::move(x.payload)});
        return;
      }
      auto i = st.connections.find(link->id);
      if (i == st.connections.end()) {
        self->send(st.routing, send_failed{x.peer, ec::not_connected, std::move(x.payload)});
        return;
      }
      route_send(self, i->second.handle, std::move(x));
    },
    [self](connect& x) {
      auto& st = self->state;
      auto fail = [&](ec reason) { self->send(st.routing, connect_failed{x.remote, reason}); };
      if (st.shutting_down)
        return fail(ec::shutting_down);
      if (x.remote.port == 0 || (x.remote.proto == protocol::udp && !st.udp_socket))
        return fail(ec::invalid_argument);
      if (st.blacklist.blocks_address(x.remote.address))
        return fail(ec::blacklisted);
      if (!st.admission.room_for_link(st.connections.size()))
        return fail(ec::too_many_connections);
      dial(self, x.remote, std::nullopt);
    },
    [self](maintain& x) {
      auto& st = self->state;
      // A known peer that is not connected right now is dialled at once.
      if (st.table.set_maintained(x.peer, true) && !st.shutting_down)
        if (auto target = st.table.redial_target(x.peer))
          dial(self, *target, x.peer);
    },
    [self](drop& x) { close_link(self, x.peer, ec::dropped); },
    [self](blacklist& x) {
      auto& st = self->state;
      if (auto err = st.blacklist.add(x.entry)) {
        alert a;
        a.kind = alert_kind::listen_failure;
        a.reason = ec::invalid_argument;
        a.detail = "blacklist entry refused: " + *err;
        raise_alert(self, std::move(a));
        return;
      }
      // En masse: every live connection the entry matches goes at once,
      // authenticated or not.
      std::vector<connection_actor> matching;
      for (auto& [id, c] : st.connections) {
        // A peer entry can only match once the handshake named the peer.
        if (x.entry.kind == blacklist_kind::peer && !c.peer)
          continue;
        if (address_blacklist::matches(x.entry, c.peer.value_or(peer_id{}), c.remote.address)) {
          auto link = c.peer ? st.table.active(*c.peer) : nullptr;
          if (link && link->id == id)
            close_link(self, *c.peer, ec::blacklisted);
          else
            matching.push_back(c.handle);
        }
      }
      for (auto& handle : matching)
        tell(self, handle, close_atom::value, ec::blacklisted);
    },
    [self](start_listening_atom) { start_listening(self); },
    [self](stop_listening_atom) { stop_listening(self); },
    [self](shutdown_atom) { begin_shutdown(self); },
    [self](start_bootstrap_atom x) {
      if (self->state.store)
        self->send(self->state.store, x);
    },
    [self](stop_bootstrap_atom x) {
      if (self->state.store)
        self->send(self->state.store, x);
    },
    [self](peers_atom) -> caf::result<std::vector<peer_info>> {
      auto rp = self->make_response_promise<std::vector<peer_info>>();
      collect_peers(self, [rp](std::vector<peer_info> xs) mutable { rp.deliver(std::move(xs)); });
      return rp;
    },
    [self](stats_atom) -> caf::result<node_stats> {
      auto rp = self->make_response_promise<node_stats>();
      auto finish = [self, rp](node_stats base) mutable {
        collect_peers(self, [rp, base](std::vector<peer_info> xs) mutable {
        base.connections = xs.size();
        for (auto& x : xs) {
          ++(x.dir == direction::inbound ? base.inbound : base.outbound);
          base.messages_sent += x.messages_sent;
          base.messages_received += x.messages_received;
          base.bytes_sent += x.bytes_sent;
          base.bytes_received += x.bytes_received;
        }
        base.peers = std::move(xs);
        rp.deliver(std::move(base));
        });
      };
      auto base = self->state.counters;
      base.links = self->state.connections.size();
      base.half_open = self->state.admission.half_open();
      if (!self->state.mux) {
        finish(base);
        return rp;
      }
      self->request(self->state.mux, std::chrono::seconds(1), stats_atom::value)
        .then(
          [finish, base](uint64_t retries, uint64_t refused, uint64_t half_open) mutable {
            base.udp_retries = retries;
            base.udp_refused = refused;
            base.udp_half_open = half_open;
            finish(base);
          },
          [finish, base](caf::error&) mutable { finish(base); });
      return rp;
    },
    [self](reconfigure& x) -> caf::result<std::vector<std::string>> {
      // A reload (crust-node's SIGHUP): limits and the whitelist now (new
      // links get the new receive budgets), the log level now, new
      // contacts dialled now.
      auto& st = self->state;
      std::vector<std::string> changed;
      auto lim = st.cfg.limits;
      auto set = [&](auto& field, const auto& value, const char* name) {
        update(field, value, name, changed);
      };
      set(lim.max_connections, x.max_connections, "max-connections");
      set(lim.max_half_open, x.max_half_open, "max-half-open");
      set(lim.max_half_open_per_address, x.max_half_open_per_address,
          "max-half-open-per-address");
      set(lim.connection_rate, x.connection_rate, "connection-rate");
      set(lim.connection_burst, x.connection_burst, "connection-burst");
      set(lim.receive_rate, x.receive_rate, "receive-rate");
      set(lim.receive_queue, x.receive_queue, "receive-queue");
      if (lim.allow_only != x.allow_only) {
        lim.allow_only = x.allow_only;
        changed.emplace_back("allow-only");
      }
      auto current = st.log ? st.log->level() : st.cfg.log;
      auto level = x.log_level.empty() ? std::optional<log_level>{current}
                                       : parse_log_level(x.log_level);
      auto mode = x.beacon.empty() ? std::optional<beacon_mode>{st.cfg.discovery.beacon}
                                   : parse_beacon_mode(x.beacon);
      if (auto why = admission_control::check(lim); why || !level || !mode) {
        CRUST_LOG(st.log, warning, nullptr, "manager",
                  "reconfigure refused: "
                    << (why ? *why
                            : !level ? "unknown log level " + x.log_level
                                     : "unknown beacon mode " + x.beacon));
        return to_caf_error(ec::invalid_argument);
      }
      if (!changed.empty()) {
        st.admission.reconfigure(lim);
        st.cfg.limits = lim;
      }
      if (*level != current) {
        if (st.log)
          st.log->set_level(*level);
        st.cfg.log = *level;
        changed.emplace_back("log-level");
      }
      // Beacon and gossip: restarted with their new settings.
      auto d = st.cfg.discovery;
      std::vector<std::string> beacon_changed, gossip_changed;
      if (!x.beacon.empty()) {
        update(d.beacon, *mode, "beacon", beacon_changed);
        if (x.beacon_port != 0)
          update(d.beacon_port, x.beacon_port, "beacon-port", beacon_changed);
        if (x.beacon_interval_ms != 0)
          update(d.beacon_interval, std::chrono::milliseconds(x.beacon_interval_ms),
               "beacon-interval", beacon_changed);
        update(d.gossip, x.gossip, "no-gossip", gossip_changed);
        if (x.gossip_interval_ms != 0)
          update(d.gossip_interval, std::chrono::milliseconds(x.gossip_interval_ms),
               "gossip-interval", gossip_changed);
        if (x.gossip_ttl != 0)
          update(d.gossip_ttl, x.gossip_ttl, "gossip-ttl", gossip_changed);
        if (x.gossip_fanout != 0)
          update(d.gossip_fanout, x.gossip_fanout, "gossip-fanout", gossip_changed);
      }
      st.cfg.discovery = d;
      if (!beacon_changed.empty())
        restart_beacon(self);
      if (!gossip_changed.empty())
        restart_gossip(self);
      changed.insert(changed.end(), beacon_changed.begin(), beacon_changed.end());
      changed.insert(changed.end(), gossip_changed.begin(), gossip_changed.end());
      bool new_contacts = false;
      for (auto& ep : x.contacts)
        if (std::find(st.cfg.contacts.begin(), st.cfg.contacts.end(), ep) == st.cfg.contacts.end()) {
          new_contacts = true;
          self->send(self, connect{ep});
        }
      if (new_contacts || x.contacts.size() != st.cfg.contacts.size())
        changed.emplace_back("contacts");
      st.cfg.contacts = x.contacts;
      return changed;
    },
    [self](info_atom) {
      auto& st = self->state;
      node_info info;
      info.id = st.id->id();
      info.role = st.cfg.role;
      info.network = st.cfg.network;
      info.listening = st.listening;
      info.connections = st.table.size();
      info.protocol_version = protocol_version;
      return info;
    },
    [self](is_connected_atom, const peer_id& peer) {
      return self->state.table.active(peer) != nullptr;
    },
    [self](peer_address_atom, const peer_id& peer) -> caf::result<endpoint> {
      if (auto link = self->state.table.active(peer))
        return link->remote;
      return to_caf_error(ec::not_connected);
    },
    // -- from the acceptor ------------------------------------------------------
    [self](incoming_stream& x) {
      auto& st = self->state;
      // Cheap rejection before any cryptography; the dialer hears why.
      if (auto no = admit_inbound(self, x.remote)) {
        x.stream->reject(handshake_abort_frame(no->reason, no->retry_after_ms));
        return;
      }
      auto conn = self->spawn<caf::linked>(connection, params_for(self), direction::inbound,
                                           x.remote, std::move(x.stream));
      manager_state::live_connection c{conn, x.remote, {}, {}, {}, {}};
      c.half_open = true;
      st.connections.emplace(conn.id(), std::move(c));
    },
    [self](listening& x) {
      auto& st = self->state;
      if (!x.endpoints.empty()) {
        start_udp(self, x.endpoints.front().port);
        if (st.udp_local)
          x.endpoints.push_back(*st.udp_local);
      }
      st.listening = x.endpoints;
      if (st.gossiper)
        self->send(st.gossiper, x);
      if (st.beacon)
        self->send(st.beacon, x);
      if (st.puncher)
        self->send(st.puncher, x);
      self->send(st.routing, std::move(x));
    },
    [self](listen_failed& x) {
      auto& st = self->state;
      st.acceptor = nullptr;
      alert a;
      a.kind = alert_kind::listen_failure;
      a.reason = ec::address_in_use;
      a.detail = x.what;
      raise_alert(self, std::move(a));
    },
    // -- from connections -------------------------------------------------------
    [self](handshake_done& x) {
      auto& st = self->state;
      auto i = st.connections.find(x.conn.id());
      if (i == st.connections.end())
        i = st.connections.emplace(x.conn.id(),
                                   manager_state::live_connection{x.conn, x.remote, {}, {}, {}, {}})
              .first;
      i->second.peer = x.peer;
      if (i->second.half_open) {
        i->second.half_open = false;
        st.admission.handshake_over(i->second.remote.address);
      }
      if (auto p = st.probes.find(x.conn.id()); p != st.probes.end()) {
        // Our dial-back for a peer's check: it got through; done.
        bool reached = i->second.expected && *i->second.expected == x.peer;
        if (st.puncher)
          self->send(st.puncher,
                     reach_probe_done{p->second, reached, reached ? ec::none : ec::bad_identity});
        st.probes.erase(p);
        st.probes_closing.insert(x.conn.id());
        tell(self, x.conn, close_atom::value, ec::none);
        return;
      }
      if (x.probe) {
        // A peer dialled back for our check: never a link.
        CRUST_LOG(st.log, debug, &x.peer, "manager",
                  "a reachability probe reached us at " << to_string(x.remote.proto) << " from "
                                                         << to_string(x.remote));
        st.probes_closing.insert(x.conn.id());
        tell(self, x.conn, close_atom::value, ec::none);
        return;
      }
      ++st.counters.handshakes; // links' handshakes (probes are not links)
      observe_handshake(st.counters, x.duration_us);
      // The dial is done: a new `connect` to this endpoint dials again, and
      // the attempt that lost the race goes.
      endpoint dialled;
      auto path = path_kind::direct;
      std::optional<peer_id> expected;
      if (i->second.circuit) {
        path = path_kind::relayed;
        expected = i->second.expected;
      } else if (i->second.own_path) {
        path = *i->second.own_path;
        expected = i->second.expected;
      }
      if (x.dir == direction::outbound && i->second.dial) {
        auto key = *i->second.dial;
        dialled = key;
        if (auto d = st.dialing.find(key); d != st.dialing.end()) {
          expected = d->second.expected;
          path = d->second.path;
        }
        st.dialing.erase(key);
        for (auto& [id, c] : st.connections)
          if (id != x.conn.id() && c.dial == key && !c.peer) {
            c.dial.reset();
            c.race_lost = true;
            tell(self, c.handle, race_lost_atom::value);
          }
      }
      if (st.shutting_down) {
        tell(self, x.conn, close_atom::value, ec::shutting_down);
        return;
      }
      if (st.blacklist.blocks_peer(x.peer)) {
        tell(self, x.conn, close_atom::value, ec::blacklisted);
        return;
      }
      if (i->second.race_lost && !st.table.active(x.peer)) {
        // Another attempt won this one's dial, and that link is gone by
        // now (dropped, or closed by the peer): this one does not bring the
        // peer back.
        tell(self, x.conn, close_atom::value, ec::dropped);
        return;
      }
      if (expected && *expected != x.peer) {
        // A traversal candidate answered as somebody else (a reused address).
        CRUST_LOG(st.log, info, &x.peer, "manager",
                  "traversal dial to " << to_string(x.remote) << " reached the wrong peer");
        tell(self, x.conn, close_atom::value, ec::bad_identity);
        return;
      }
      if (x.dir == direction::inbound) {
        if (auto e = st.expected.find(x.peer); e != st.expected.end()) {
          if (std::chrono::steady_clock::now() < e->second.second && !i->second.circuit)
            path = e->second.first;
          // The peer's SYN reached our listener while we punched: its TCP
          // punch got through.
          if (path == path_kind::punched_udp && x.transport == protocol::tcp)
            path = path_kind::punched_tcp;
          st.expected.erase(e);
        }
      }
      connection_table::link link{x.conn.id(), x.remote, x.dir, x.role, x.listen_port,
                                  x.handshake_hash};
      link.path = path;
      link.role_swapped = x.role_swapped;
      auto adm = st.table.on_handshake(x.peer, std::move(link));
      switch (adm.outcome) {
        case connection_table::verdict::admit:
          if (st.twins.count(x.peer) > 0)
            tell(self, x.conn, gate_atom::value, true); // a twin still drains
          // Up first, then admit: the routing layer hears of the peer before
          // any of its messages.
          if (adm.report_up) {
            CRUST_LOG(st.log, info, &x.peer, "manager",
                      "connection up: " << to_string(x.dir) << " tcp " << to_string(x.remote));
            CRUST_LOG(st.log, debug, &x.peer, "manager", "link over " << to_string(x.transport));
            connection_up up{x.peer, x.remote, x.dir, x.transport, x.role, path, dialled,
                             x.observed};
            tell_helpers(self, up);
            self->send(st.routing, std::move(up));
          }
          tell(self, x.conn, admit_atom::value);
          if (st.twins.count(x.peer) == 0)
            release_held(self, x.peer, &x.conn, ec::none);
          break;
        case connection_table::verdict::admit_replacing:
          // The old link still delivers what the peer sent on it; the new
          // one waits for it, and so do our sends (see `twins`).
          if (auto old = st.connections.find(*adm.replaced); old != st.connections.end()) {
            drain_as_twin(st, old->second, x.peer);
            tell(self, old->second.handle, close_atom::value, ec::duplicate_connection);
          }
          if (st.twins.count(x.peer) > 0)
            tell(self, x.conn, gate_atom::value, true);
          tell(self, x.conn, admit_atom::value);
          if (adm.replaced_path == path_kind::relayed && path != path_kind::relayed) {
            // A relayed link moved to a path of its own (PROTOCOL.md §9.6):
            // the helpers hear of the new link, the routing layer of the move.
            CRUST_LOG(st.log, info, &x.peer, "manager",
                      "relayed link upgraded: " << to_string(path) << " "
                                                << to_string(x.transport) << " "
                                                << to_string(x.remote));
            tell_helpers(self, connection_up{x.peer, x.remote, x.dir, x.transport, x.role, path,
                                             dialled, x.observed});
            self->send(st.routing,
                       path_changed{x.peer, x.remote, x.transport, path_kind::relayed, path});
          }
          break;
        case connection_table::verdict::reject:
          // What the peer sent on it came before what it sends on the
          // active link from now on: the active link waits for it.
          if (drain_as_twin(st, i->second, x.peer) == 1)
            if (auto active = st.connections.find(st.table.active(x.peer)->id);
                active != st.connections.end())
              tell(self, active->second.handle, gate_atom::value, true);
          tell(self, x.conn, close_atom::value, ec::duplicate_connection);
          break;
      }
    },
    [self](connection_closing& x) {
      auto& st = self->state;
      auto link = st.table.active(x.peer);
      if (link && link->id == x.conn.id()) {
        // What the peer sent on it comes before whatever link the peer
        // chose instead, and after the twins still draining ahead of it
        // (it is gated behind them): it drains as a twin itself. Left out
        // of the twins, a gated link would never be let go.
        auto c = st.connections.find(x.conn.id());
        if (c != st.connections.end() && !c->second.draining_twin
            && (x.reason == ec::duplicate_connection || st.twins.count(x.peer) > 0))
          drain_as_twin(st, c->second, x.peer);
        apply_closure(self, x.peer, x.reason, st.table.on_closed(x.peer, link->id, x.reason));
      }
      // Every send routed to it is in its mailbox ahead of this: it may
      // answer the peer's CLOSE once those are out.
      tell(self, x.conn, closing_ack_atom::value);
    },
    [self](connection_closed& x) {
      auto& st = self->state;
      tell(self, x.conn, stop_atom::value); // it can go: we route nothing more to it
      std::optional<endpoint> dial_key;
      bool relayed_dial = false;
      bool twin = false;
      bool race_lost = false;
      if (auto i = st.connections.find(x.conn.id()); i != st.connections.end()) {
        dial_key = i->second.dial;
        race_lost = i->second.race_lost;
        twin = i->second.draining_twin && i->second.peer;
        relayed_dial = i->second.expected.has_value();
        if (i->second.half_open)
          st.admission.handshake_over(i->second.remote.address);
        if (i->second.circuit) {
          st.circuits.erase(*i->second.circuit); // its stream said CLOSE
          st.circuits_opening.erase(*i->second.circuit);
        }
      }
      st.connections.erase(x.conn.id());
      bool probe = st.probes_closing.erase(x.conn.id()) > 0;
      if (auto s = st.own_sockets.find(x.conn.id()); s != st.own_sockets.end()) {
        s->second->close();
        st.own_sockets.erase(s);
      }
      if (auto p = st.probes.find(x.conn.id()); p != st.probes.end()) {
        // A dial-back that never got through.
        if (st.puncher)
          self->send(st.puncher, reach_probe_done{p->second, false, x.reason});
        st.probes.erase(p);
        probe = true;
      }
      if (probe) { // never a link: nothing to count or report
        if (st.shutting_down && st.connections.empty())
          self->quit();
        return;
      }
      if (twin)
        twin_drained(self, x.peer);
      std::optional<peer_id> redial_of;
      bool traversal = relayed_dial;
      if (x.dir == direction::outbound && dial_key && !x.authenticated) {
        auto i = st.dialing.find(*dial_key);
        if (i != st.dialing.end()) {
          auto& d = i->second;
          (x.remote.proto == protocol::udp ? d.udp_live : d.tcp_live) = false;
          // A refusal (it names a retry-after) says most: it is the one reported.
          if (!d.first_failure || x.retry_after_ms > 0)
            d.first_failure = x.reason;
          d.retry_after_ms = std::max(d.retry_after_ms, x.retry_after_ms);
          // A TCP refusal before the fallback timer ends the dial: the host
          // answered, nothing listens there. Otherwise wait for the other.
          if (d.tcp_live || d.udp_live)
            return;
          x.reason = *d.first_failure;
          x.retry_after_ms = d.retry_after_ms;
          redial_of = d.redial_of;
          traversal = d.expected.has_value();
          st.dialing.erase(i);
          x.remote = *dial_key; // report what was asked for
        }
      }
      auto& c = st.counters;
      c.messages_sent += x.messages_sent;
      c.messages_received += x.messages_received;
      c.bytes_sent += x.bytes_sent;
      c.bytes_received += x.bytes_received;
      if (!x.authenticated && race_lost) {
        // The attempt that lost its dial's race: the dial succeeded.
      } else if (!x.authenticated) {
        if (x.dir == direction::outbound)
          ++c.dials_failed;
        else if (is_handshake_failure(x.reason))
          ++c.handshakes_failed;
        if (x.dir == direction::outbound && traversal) {
          CRUST_LOG(st.log, debug, nullptr, "manager",
                    "traversal dial " << to_string(x.remote) << " failed: " << to_string(x.reason));
        } else if (x.dir == direction::outbound && !st.shutting_down) {
          CRUST_LOG(st.log, info, nullptr, "manager",
                    "dial " << to_string(x.remote) << " failed: " << to_string(x.reason));
          if (st.store)
            self->send(st.store, connect_failed{x.remote, x.reason, x.retry_after_ms});
          self->send(st.routing, connect_failed{x.remote, x.reason, x.retry_after_ms});
          if (redial_of)
            schedule_redial(self, *redial_of, x.retry_after_ms);
        } else if (is_handshake_failure(x.reason)) {
          alert a;
          a.kind = alert_kind::handshake_failure;
          a.reason = x.reason;
          a.address = x.remote.address;
          a.detail = "inbound handshake from " + to_string(x.remote) + " failed";
          raise_alert(self, std::move(a));
        }
      } else {
        ++c.connections_closed;
        if (is_protocol_violation(x.reason)) {
          alert a;
          a.kind = alert_kind::protocol_violation;
          a.reason = x.reason;
          a.address = x.remote.address;
          a.peer = x.peer;
          a.detail = x.by_peer ? "peer reported it" : "peer sent it";
          raise_alert(self, std::move(a));
        }
        apply_closure(self, x.peer, x.reason, st.table.on_closed(x.peer, x.conn.id(), x.reason));
      }
      if (st.shutting_down && st.connections.empty())
        self->quit();
    },
    [self](redial_atom, const peer_id& peer) {
      auto& st = self->state;
      if (st.shutting_down)
        return;
      if (!st.admission.room_for_link(st.connections.size())) {
        schedule_redial(self, peer); // try again when links have gone
        return;
      }
      if (auto target = st.table.redial_target(peer))
        dial(self, *target, peer);
    },
    [self](udp_fallback_atom, const endpoint& key, uint64_t dial_id) {
      auto& st = self->state;
      auto i = st.dialing.find(key);
      // A timer of an earlier dial to the same endpoint, done by now, says
      // nothing about this one.
      if (i == st.dialing.end() || i->second.id != dial_id || i->second.udp_tried
          || !i->second.tcp_live || st.shutting_down)
        return;
      CRUST_LOG(st.log, debug, nullptr, "manager",
                "TCP to " << to_string(key) << " is slow: reliable UDP joins");
      start_attempt(self, key, protocol::udp);
    },
    [self](incoming_udp& x) {
      auto& st = self->state;
      // The source proved it receives at its address (the retry round trip);
      // the same checks as TCP follow, still before any cryptography. A
      // refusal is one ABORT, far smaller than the INITIAL it answers.
      if (auto no = admit_inbound(self, x.remote)) {
        if (st.mux && x.initial) {
          rudp::abort_packet p{x.initial->scid, x.initial->dcid, no->reason, no->retry_after_ms};
          self->send(st.mux, raw_datagram{x.remote, rudp::encode(p)});
        }
        return;
      }
      auto conn = self->spawn<caf::linked>(udp_connection, params_for(self), direction::inbound,
                                           x.remote, std::move(x.initial));
      manager_state::live_connection c{conn, x.remote, {}, {}, {}, {}};
      c.half_open = true;
      st.connections.emplace(conn.id(), std::move(c));
    },
    [self](alert_flush_atom) { flush_alerts(self); },
    [self](send_flush_atom) {
      self->state.batch_flush_pending = false;
      flush_sends(self);
    },
    [self](grace_atom, const peer_id& peer, uint64_t token) {
      apply_closure(self, peer, ec::duplicate_connection,
                    self->state.table.on_grace_expired(peer, token));
    },
    [self](stop_atom) { self->quit(); },
    // -- discovery ----------------------------------------------------------------
    [self](service_in& x) {
      auto& st = self->state;
      switch (x.service) {
        case service_id::bootstrap_request:
        case service_id::bootstrap_response:
          if (st.store)
            self->send(st.store, std::move(x));
          break;
        case service_id::gossip:
          if (st.gossiper)
            self->send(st.gossiper, std::move(x));
          break;
        case service_id::rendezvous:
        case service_id::reachability:
          if (st.puncher)
            self->send(st.puncher, std::move(x));
          break;
        case service_id::relay: {
          // Messages to a relay go to the puncher (if we relay); messages
          // from a relay concern our own circuits.
          relay_msg m;
          if (decode(x.body, m) != ec::none)
            break;
          if (m.to_relay()) {
            if (st.puncher)
              self->send(st.puncher, std::move(x));
          } else {
            on_relay_message(self, x.peer, m);
          }
          break;
        }
        default:
          break; // a later version's service: ignored
      }
    },
    [self](service_out& x) {
      auto& st = self->state;
      auto link = st.table.active(x.peer);
      if (!link)
        return;
      if (auto i = st.connections.find(link->id); i != st.connections.end())
        tell(self, i->second.handle, std::move(x));
    },
    // -- NAT traversal --------------------------------------------------------------
    [self](connect_via& x) {
      auto& st = self->state;
      if (!st.puncher)
        return self->send(st.routing, traversal_failed{x.peer, ec::unsupported,
                                                       "NAT traversal is off"});
      self->send(st.puncher, std::move(x));
    },
    [self](prepare_connection_info& x) {
      auto& st = self->state;
      if (!st.puncher) {
        // Without the puncher: what we listen on, nothing learned.
        connection_info info;
        info.peer = st.id->id();
        info.local = st.listening;
        return self->send(st.routing, connection_info_prepared{x.token, std::move(info)});
      }
      self->send(st.puncher, std::move(x));
    },
    [self](connect_with_info& x) {
      auto& st = self->state;
      if (!st.puncher)
        return self->send(st.routing, traversal_failed{x.theirs.peer, ec::unsupported,
                                                       "NAT traversal is off"});
      self->send(st.puncher, std::move(x));
    },
    [self](nat_atom) -> caf::result<nat_status> {
      auto& st = self->state;
      if (!st.puncher)
        return nat_status{};
      auto rp = self->make_response_promise<nat_status>();
      self->request(st.puncher, std::chrono::seconds(2), nat_atom::value)
        .then([rp](nat_status& x) mutable { rp.deliver(std::move(x)); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](traversal_dial& x) {
      auto& st = self->state;
      // A relayed link may still gain a path of its own (an upgrade).
      auto link = st.table.active(x.expected);
      if (st.shutting_down || (link && link->path != path_kind::relayed) || x.remote.port == 0
          || (x.remote.proto == protocol::udp && !st.udp_socket)
          || st.blacklist.blocks_address(x.remote.address) || st.blacklist.blocks_peer(x.expected))
        return;
      dial(self, x.remote, std::nullopt, &x);
    },
    [self](relay_dial& x) {
      auto& st = self->state;
      if (st.shutting_down || !st.table.active(x.through) || st.table.active(x.target)
          || st.blacklist.blocks_peer(x.target))
        return;
      uint64_t id = 0;
      randombytes_buf(&id, sizeof(id));
      auto stream = make_circuit(self, x.through, id, false);
      st.circuits_opening.emplace(std::make_pair(x.through, id), x.target);
      spawn_relayed(self, x.through, id, direction::outbound, stream, x.target);
      relay_msg open{relay_msg::kind::open, id, x.target, {}, 0, ec::none};
      self->send(self, service_out{x.through, service_id::relay, encode(open)});
    },
    [self](reachability_changed& x) {
      self->state.last_reachability = x;
      if (self->state.gossiper)
        self->send(self->state.gossiper, std::move(x));
    },
    [self](reach_probe& x) {
      auto& st = self->state;
      auto refuse = [&](ec why) {
        if (st.puncher)
          self->send(st.puncher, reach_probe_done{x.id, false, why});
      };
      if (st.shutting_down || x.target.port == 0 || st.blacklist.blocks_address(x.target.address)
          || st.blacklist.blocks_peer(x.expected))
        return refuse(ec::connect_failed);
      if (x.target.proto == protocol::udp && !st.udp_socket)
        return refuse(ec::unsupported);
      auto params = params_for(self);
      params.session.probe = true;
      connection_actor conn;
      if (x.target.proto == protocol::udp) {
        // From a socket of its own: a NAT lets in datagrams from where its
        // host sent to, and the requester may well have sent to our node's
        // socket; a stranger's port is what the check is about.
        boost::system::error_code err;
        auto to = boost::asio::ip::make_address(x.target.address, err);
        if (err)
          return refuse(ec::invalid_argument);
        std::shared_ptr<datagram_socket> sock;
        try {
          sock = open_own_socket(st, to);
        } catch (const std::exception&) {
          return refuse(ec::io_error);
        }
        conn = dial_from_own_socket(self, std::move(params), sock, x.target);
        caf::weak_actor_ptr weak = conn->ctrl();
        sock->start_batched([weak](std::vector<std::pair<bytes, datagram_socket::udp::endpoint>> in) {
          if (auto strong = weak.lock())
            deliver_own(strong, in);
        });
      } else
        conn = self->spawn<caf::linked>(connection, std::move(params), direction::outbound,
                                        x.target, std::shared_ptr<byte_stream>{});
      manager_state::live_connection c{conn, x.target, {}, {}, {}, {}};
      c.expected = x.expected;
      st.connections.emplace(conn.id(), std::move(c));
      st.probes.emplace(conn.id(), x.id);
      CRUST_LOG(st.log, debug, &x.expected, "manager",
                "reachability probe to " << to_string(x.target));
    },
    [self](hold_sockets& x) { hold_more(self, x); },
    [self](release_sockets& x) { release_held_sockets(self, x.peer); },
    [self](held_hit& x) { on_held_hit(self, x); },
    [self](traversal_expect& x) {
      auto& st = self->state;
      // Bounded: one entry per peer, and stale ones go when the map grows.
      auto now = std::chrono::steady_clock::now();
      if (st.expected.size() > 1024)
        for (auto i = st.expected.begin(); i != st.expected.end();)
          i = i->second.second < now ? st.expected.erase(i) : std::next(i);
      st.expected[x.peer] = {x.path, now + st.cfg.nat.traversal_timeout};
    },
    [self](raw_datagram& x) {
      auto& st = self->state;
      if (st.mux)
        self->send(st.mux, std::move(x));
    },
    [self](bootstrap_list_atom) -> caf::result<std::vector<bootstrap_entry>> {
      auto rp = self->make_response_promise<std::vector<bootstrap_entry>>();
      self->request(self->state.store, std::chrono::seconds(5), bootstrap_list_atom::value)
        .then([rp](std::vector<bootstrap_entry>& xs) mutable { rp.deliver(std::move(xs)); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
  };
}

} // namespace crust
