#include "discovery/beacon.hpp"

#include "discovery/beacon_packet.hpp"
#include "discovery/peer_record_codec.hpp"
#include "transport/local_interfaces.hpp"

#include <caf/send.hpp>

#include <ctime>
#include <set>

namespace crust {

namespace {

using udp = boost::asio::ip::udp;

constexpr size_t max_datagrams_per_second = 200;
constexpr size_t max_answers_per_second = 20;
constexpr auto answer_interval = std::chrono::seconds(1);     // per source
constexpr auto report_interval = std::chrono::seconds(30);    // per peer, same endpoints
constexpr auto alert_interval = std::chrono::seconds(10);
constexpr size_t max_tracked = 1024;


bool wants_v4(beacon_mode m) {
  return m == beacon_mode::ipv4 || m == beacon_mode::both;
}

bool wants_v6(beacon_mode m) {
  return m == beacon_mode::ipv6 || m == beacon_mode::both;
}

void deliver_to(beacon_pointer self, const std::shared_ptr<datagram_socket>& s) {
  caf::weak_actor_ptr weak = self->ctrl();
  s->start([weak](bytes data, udp::endpoint from) {
    if (auto strong = weak.lock()) {
      auto addr = from.address();
      std::string text = addr.to_string();
      if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        text = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6())
                 .to_string();
      caf::anon_send(caf::actor_cast<beacon_impl>(strong),
                     beacon_datagram{std::move(data), std::move(text), from.port()});
    }
  }, max_beacon_size);
}

void open_sockets(beacon_pointer self) {
  auto& st = self->state;
  auto& io = st.runtime->context();
  auto fail = [&](const std::string& what, const std::exception& e) {
    alert a;
    a.kind = alert_kind::listen_failure;
    a.reason = ec::io_error;
    a.detail = "beacon: " + what + ": " + e.what();
    CRUST_LOG(st.log, warning, nullptr, "beacon", a.detail);
    self->send(st.routing, std::move(a));
  };
  datagram_socket::options shared;
  shared.reuse = true;
  shared.broadcast = true;
  datagram_socket::options own;
  own.broadcast = true;
  if (wants_v4(st.cfg.beacon)) {
    try {
      auto s = datagram_socket::open(io, udp::endpoint(udp::v4(), st.cfg.beacon_port), shared);
      deliver_to(self, s);
      st.sockets.push_back(s);
      st.send_v4 = datagram_socket::open(io, udp::endpoint(udp::v4(), 0), own);
      deliver_to(self, st.send_v4);
      st.sockets.push_back(st.send_v4);
    } catch (const std::exception& e) {
      fail("IPv4 port " + std::to_string(st.cfg.beacon_port), e);
    }
  }
  if (wants_v6(st.cfg.beacon)) {
    try {
      auto s = datagram_socket::open(io, udp::endpoint(udp::v6(), st.cfg.beacon_port), shared);
      std::set<unsigned> joined;
      for (auto& i : local_interfaces())
        if (i.ipv6 && i.multicast && !i.loopback && joined.insert(i.index).second)
          s->join_v6(beacon_ipv6_group, i.index);
      deliver_to(self, s);
      st.sockets.push_back(s);
      st.send_v6 = datagram_socket::open(io, udp::endpoint(udp::v6(), 0), own);
      deliver_to(self, st.send_v6);
      st.sockets.push_back(st.send_v6);
    } catch (const std::exception& e) {
      fail("IPv6 port " + std::to_string(st.cfg.beacon_port), e);
    }
  }
}

/// Broadcasts (IPv4, every interface's broadcast address) and multicasts
/// (IPv6, the link-local group on every interface) our record.
void announce(beacon_pointer self, bool query) {
  auto& st = self->state;
  if (!st.record)
    return;
  beacon_packet p{query, st.network, *st.record};
  auto data = encode_beacon(p);
  std::set<std::string> v4_targets;
  std::set<unsigned> v6_targets;
  for (auto& i : local_interfaces()) {
    if (i.loopback)
      continue;
    if (!i.ipv6 && !i.broadcast.empty())
      v4_targets.insert(i.broadcast);
    if (i.ipv6 && i.multicast)
      v6_targets.insert(i.index);
  }
  if (st.send_v4)
    for (auto& b : v4_targets)
      st.send_v4->send_to(data, udp::endpoint(boost::asio::ip::make_address_v4(b),
                                              st.cfg.beacon_port));
  if (st.send_v6)
    for (auto index : v6_targets) {
      auto group = boost::asio::ip::make_address_v6(beacon_ipv6_group);
      group.scope_id(index);
      st.send_v6->send_to(data, udp::endpoint(group, st.cfg.beacon_port));
    }
  CRUST_LOG(st.log, trace, nullptr, "beacon",
            (query ? "query" : "announce") << " to " << v4_targets.size() << " IPv4 and "
                                           << v6_targets.size() << " IPv6 links");
}

void maybe_alert(beacon_pointer self) {
  auto& st = self->state;
  auto now = beacon_state::clock::now();
  if (st.dropped + st.forged == 0 || now - st.last_alert < alert_interval)
    return;
  st.last_alert = now;
  alert a;
  a.kind = alert_kind::discovery_abuse;
  a.reason = st.forged > 0 ? ec::bad_record : ec::too_many_connections;
  a.count = st.dropped + st.forged;
  a.detail = "beacon: " + std::to_string(st.forged) + " forged, " + std::to_string(st.dropped)
             + " over the rate limit";
  CRUST_LOG(st.log, warning, nullptr, "beacon", a.detail);
  self->send(st.routing, std::move(a));
  st.dropped = 0;
  st.forged = 0;
}

void handle(beacon_pointer self, beacon_datagram& x) {
  auto& st = self->state;
  auto now = beacon_state::clock::now();
  if (now - st.window_start >= std::chrono::seconds(1)) {
    st.window_start = now;
    st.window_datagrams = 0;
    st.window_answers = 0;
  }
  if (++st.window_datagrams > max_datagrams_per_second) {
    ++st.dropped;
    maybe_alert(self);
    return;
  }
  beacon_packet p;
  switch (decode_beacon(x.data.data(), x.data.size(), st.network, p)) {
    case beacon_verdict::ok: break;
    case beacon_verdict::other_network: return;
    case beacon_verdict::malformed:
      CRUST_LOG(st.log, debug, nullptr, "beacon",
                "malformed datagram from " << x.from_address << ":" << x.from_port);
      return;
    case beacon_verdict::forged:
      ++st.forged;
      CRUST_LOG(st.log, debug, nullptr, "beacon",
                "forged beacon from " << x.from_address << ":" << x.from_port);
      maybe_alert(self);
      return;
  }
  auto& peer = p.record.peer;
  if (peer == st.id->id())
    return; // our own
  if (p.record.expires < static_cast<uint64_t>(std::time(nullptr)))
    return;
  // Answer a query, directly, no larger than it, rate-limited.
  if (p.query && st.record) {
    auto source = x.from_address + "|" + std::to_string(x.from_port);
    auto i = st.answered.find(source);
    bool recent = i != st.answered.end() && now - i->second < answer_interval;
    if (!recent && st.window_answers < max_answers_per_second) {
      auto answer = encode_beacon(beacon_packet{false, st.network, *st.record});
      boost::system::error_code err;
      auto addr = boost::asio::ip::make_address(x.from_address, err);
      auto& via = (!err && addr.is_v6()) ? st.send_v6 : st.send_v4;
      if (!err && via && answer.size() <= x.data.size()) {
        ++st.window_answers;
        if (st.answered.size() >= max_tracked)
          st.answered.clear();
        st.answered[source] = now;
        via->send_to(std::move(answer), udp::endpoint(addr, x.from_port));
      }
    }
  }
  auto r = st.reported.find(peer);
  if (r != st.reported.end() && r->second.second == p.record.endpoints
      && now - r->second.first < report_interval)
    return;
  if (st.reported.size() >= max_tracked)
    st.reported.clear();
  st.reported[peer] = {now, p.record.endpoints};
  CRUST_LOG(st.log, info, &peer, "beacon",
            "heard from " << x.from_address << " (" << p.record.endpoints.size()
                          << " endpoints)");
  peer_discovered d{peer, p.record.endpoints, discovery_source::beacon};
  self->send(st.store, d);
  self->send(st.routing, std::move(d));
}

} // namespace

beacon_impl::behavior_type beacon(beacon_pointer self, std::shared_ptr<io_runtime> runtime,
                                  discovery_config cfg, std::string network,
                                  std::shared_ptr<const identity> id,
                                  bootstrap_store_actor store, routing_actor routing,
                                  logger_ptr log) {
  auto& st = self->state;
  st.runtime = std::move(runtime);
  st.cfg = std::move(cfg);
  st.network = std::move(network);
  st.id = std::move(id);
  st.store = std::move(store);
  st.routing = std::move(routing);
  st.log = std::move(log);
  open_sockets(self);
  // Linked to the node's manager: whenever it ends, so do we.
  self->set_exit_handler([self](const caf::exit_msg& x) { self->quit(x.reason); });
  self->delayed_send(self, st.cfg.beacon_interval, beacon_tick_atom::value);
  return {
    [self](listening& x) {
      auto& st = self->state;
      st.record = own_record(*st.id, st.network, x.endpoints, st.cfg.record_lifetime);
      announce(self, true); // a query: those who hear it answer at once
    },
    [self](beacon_datagram& x) { handle(self, x); },
    [self](beacon_tick_atom) {
      auto& st = self->state;
      refresh_own_record(st.record, *st.id, st.network, st.cfg.record_lifetime);
      announce(self, false);
      self->delayed_send(self, st.cfg.beacon_interval, beacon_tick_atom::value);
    },
  };
}

} // namespace crust
