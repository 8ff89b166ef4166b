// The NAT puncher actor under CAF's deterministic scheduler. Three punchers
// (A, B and the rendezvous R) talk through stand-in nodes that carry service
// messages between them and play two STUN servers with NAT behaviour of the
// test's choosing: STUN classification, rendezvous both ways with nonces,
// punches and traversal dials towards the right candidates, the relay at
// once when punching cannot work (and not when a port is forwarded), relay
// circuits with their limits, failures reported to the routing layer.
#define CAF_SUITE nat.puncher_actor
#include <caf/test/dsl.hpp>

#include "nat/puncher.hpp"
#include "nat/relay_codec.hpp"
#include "nat/reachability_codec.hpp"
#include "nat/rendezvous_codec.hpp"
#include "nat/stun_message.hpp"

#include <map>
#include <set>

using namespace crust;
using namespace std::chrono_literals;

namespace {

peer_id pid(uint8_t x) {
  peer_id p;
  p.key.fill(x);
  return p;
}

const endpoint stun1{protocol::udp, "198.51.100.1", 3478};
const endpoint stun2{protocol::udp, "198.51.100.2", 3478};

/// What one stand-in node saw its puncher ask for.
struct node_log {
  std::vector<traversal_dial> dials;
  std::vector<relay_dial> relays;
  std::vector<traversal_expect> expects;
  std::vector<raw_datagram> datagrams; ///< other than to the STUN servers
  std::vector<traversal_failed> failures;
  std::vector<connection_info_prepared> infos;
  std::vector<service_out> relay_out; ///< relay messages it sent
  std::vector<reach_probe> probes;    ///< dial-backs it was asked to make
  std::vector<endpoint> unreachable;  ///< the last reachability_changed
  std::vector<hold_sockets> holds;    ///< birthday probing: sockets asked for
  size_t releases = 0;                ///< ... and released
};

/// The network between the stand-ins: who is connected to whom, and each
/// node's puncher.
struct world {
  std::map<peer_id, nat_actor> punchers;
  std::map<peer_id, node_log> logs;
  std::map<peer_id, std::string> external_ip;
  std::map<peer_id, bool> symmetric;
  std::map<peer_id, bool> sequential; ///< a symmetric NAT's ports follow each other
  std::set<std::pair<peer_id, peer_id>> links;
  std::set<endpoint> reachable; ///< what a dial-back reaches (the test's choice)
  bool linked(const peer_id& a, const peer_id& b) const {
    return links.count({a, b}) > 0 || links.count({b, a}) > 0;
  }
};

using world_ptr = std::shared_ptr<world>;

/// A node as the puncher sees it: service messages go to the peer's
/// puncher (if linked), STUN requests to our STUN servers are answered with
/// a mapping of the test's choosing, everything else is recorded.
nat_host_actor::behavior_type stand_in(nat_host_actor::pointer self, world_ptr w, peer_id me) {
  return {
    [w, me](traversal_dial& x) { w->logs[me].dials.push_back(x); },
    [w, me](relay_dial& x) { w->logs[me].relays.push_back(x); },
    [w, me](traversal_expect& x) { w->logs[me].expects.push_back(x); },
    [w, me](reachability_changed& x) { w->logs[me].unreachable = x.unreachable; },
    [w, me](hold_sockets& x) { w->logs[me].holds.push_back(std::move(x)); },
    [w, me](release_sockets&) { ++w->logs[me].releases; },
    [self, w, me](reach_probe& x) {
      w->logs[me].probes.push_back(x);
      bool ok = w->reachable.count(x.target) > 0;
      self->send(w->punchers[me], reach_probe_done{x.id, ok, ok ? ec::none : ec::connect_failed});
    },
    [self, w, me](service_out& x) {
      if (x.service == service_id::relay)
        w->logs[me].relay_out.push_back(x);
      if (w->linked(me, x.peer))
        self->send(w->punchers[x.peer], service_in{me, x.service, std::move(x.body)});
    },
    [self, w, me](raw_datagram& x) {
      if (x.remote == stun1 || x.remote == stun2) {
        stun::message m;
        if (stun::parse(x.data, m) != ec::none)
          return;
        uint16_t port = 40000;
        if (w->symmetric[me] && x.remote == stun2) // another mapping per destination:
          port = w->sequential[me] ? 40001 : 52345; // the next port, or anywhere
        endpoint mapped{protocol::udp, w->external_ip[me], port};
        self->send(w->punchers[me],
                   raw_datagram{x.remote, stun::build_binding_response(m.tid, mapped)});
        return;
      }
      w->logs[me].datagrams.push_back(std::move(x));
    },
  };
}

routing_actor::behavior_type routing(routing_actor::pointer, world_ptr w, peer_id me) {
  return {
    [](connection_up&) {},     [](connection_down&) {}, [](path_changed&) {}, [](message&) {},
    [](listening&) {},         [](connect_failed&) {},  [](send_failed&) {},
    [](bootstrap_status&) {},  [](peer_discovered&) {}, [](alert&) {},
    [w, me](connection_info_prepared& x) { w->logs[me].infos.push_back(std::move(x)); },
    [w, me](traversal_failed& x) { w->logs[me].failures.push_back(std::move(x)); },
  };
}

struct fixture : test_coordinator_fixture<> {
  world_ptr w = std::make_shared<world>();
  peer_id a = pid(0xA), b = pid(0xB), r = pid(0xC);

  nat_actor node(const peer_id& id, nat_config cfg, const std::string& lan_ip,
                 const std::string& ext_ip, bool symmetric) {
    w->external_ip[id] = ext_ip;
    w->symmetric[id] = symmetric;
    auto host = sys.spawn(stand_in, w, id);
    auto rt = sys.spawn(routing, w, id);
    auto p = sys.spawn(puncher, cfg, id, host, rt, logger_ptr{});
    w->punchers[id] = p;
    self->send(p, listening{{endpoint{protocol::tcp, lan_ip, 5000},
                             endpoint{protocol::udp, lan_ip, 5000}}});
    return p;
  }

  void link(const peer_id& x, const peer_id& y) {
    w->links.insert({x, y});
    self->send(w->punchers[x], connection_up{y, {}, direction::outbound});
    self->send(w->punchers[y], connection_up{x, {}, direction::inbound});
  }

  /// `x` opened a relayed link to `y`: service messages cross it.
  void relayed_link(const peer_id& x, const peer_id& y) {
    w->links.insert({x, y});
    self->send(w->punchers[x], connection_up{y, {}, direction::outbound, protocol::tcp,
                                             node_role::node, path_kind::relayed});
    self->send(w->punchers[y], connection_up{x, {}, direction::inbound, protocol::tcp,
                                             node_role::node, path_kind::relayed});
  }

  /// Runs until quiet, firing the puncher's short ticks as it goes (bounded).
  void settle(int ticks = 10) {
    sched.run();
    for (int i = 0; i < ticks; ++i) {
      sched.advance_time(20ms);
      sched.run();
    }
  }

  /// a (symmetric or cone) asks to reach b (cone) through r, a relay both
  /// are linked to; a's puncher.
  nat_actor via_relay(bool a_symmetric) {
    auto pa = node(a, cfg(), "10.1.0.2", "203.0.113.1", a_symmetric);
    node(b, cfg(), "10.2.0.2", "203.0.113.2", false);
    node(r, cfg(true), "203.0.113.9", "203.0.113.9", false);
    settle();
    link(a, r);
    link(b, r);
    sched.run();
    self->send(pa, connect_via{b, r});
    settle(1);
    return pa;
  }

  nat_status status(const nat_actor& p) {
    nat_status out;
    auto handle = self->request(p, caf::infinite, nat_atom::value);
    sched.run();
    handle.receive(
      [&](nat_status& x) { out = std::move(x); },
      [&](caf::error& err) { CAF_FAIL("nat status: " << sys.render(err)); });
    return out;
  }

  nat_config cfg(bool relay = false) {
    nat_config c;
    c.stun_servers = {stun1, stun2};
    c.serve_relay = relay;
    return c;
  }

  ~fixture() {
    for (auto& [id, p] : w->punchers)
      anon_send_exit(p, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(puncher_tests, fixture)

CAF_TEST(stun classifies cone and symmetric mappings) {
  auto pa = node(a, cfg(), "10.1.0.2", "203.0.113.1", false);
  auto pb = node(b, cfg(), "10.2.0.2", "203.0.113.2", true);
  settle();
  auto sa = status(pa);
  CAF_CHECK(sa.nat == nat_class::endpoint_independent);
  CAF_REQUIRE_EQUAL(sa.external.size(), 1u);
  CAF_CHECK_EQUAL(to_string(sa.external[0]), "udp://203.0.113.1:40000");
  CAF_CHECK_EQUAL(sa.stun_servers_answered.size(), 2u);
  auto sb = status(pb);
  CAF_CHECK(sb.nat == nat_class::endpoint_dependent);
  CAF_CHECK_EQUAL(sb.external.size(), 2u);
  // prepare_connection_info: our endpoints, the mapping, the class.
  self->send(pa, prepare_connection_info{42});
  sched.run();
  auto& infos = w->logs[a].infos;
  CAF_REQUIRE_EQUAL(infos.size(), 1u);
  CAF_CHECK_EQUAL(infos[0].token, 42u);
  CAF_CHECK(infos[0].info.nat == nat_class::endpoint_independent);
  CAF_REQUIRE_EQUAL(infos[0].info.external.size(), 1u);
  CAF_CHECK_EQUAL(infos[0].info.local.size(), 2u);
}

CAF_TEST(rendezvous then punching between two cone nats) {
  auto pa = node(a, cfg(), "10.1.0.2", "203.0.113.1", false);
  node(b, cfg(), "10.2.0.2", "203.0.113.2", false);
  auto pr = node(r, cfg(), "203.0.113.9", "203.0.113.9", false);
  settle();
  link(a, r);
  link(b, r);
  sched.run();
  self->send(pa, connect_via{b, r});
  settle(6); // 120 ms: a punch at once and one 100 ms later
  // Both sides punch towards the other's mapping and own address, and dial
  // both, expecting the right peer; neither turns to a relay.
  for (auto [me, them, ext] : {std::make_tuple(a, b, "203.0.113.2"),
                               std::make_tuple(b, a, "203.0.113.1")}) {
    auto& log = w->logs[me];
    CAF_REQUIRE(log.dials.size() >= 2u);
    CAF_CHECK_EQUAL(to_string(log.dials[0].remote), std::string("udp://") + ext + ":40000");
    CAF_CHECK(log.dials[0].path == path_kind::punched_udp);
    CAF_CHECK(log.dials[0].expected == them);
    size_t punches = 0;
    for (auto& d : log.datagrams) {
      stun::message m;
      CAF_REQUIRE_EQUAL(stun::parse(d.data, m), ec::none);
      CAF_CHECK(m.cls == stun::msg_class::request);
      punches += to_string(d.remote) == std::string("udp://") + ext + ":40000";
    }
    CAF_CHECK(punches >= 2u);
    CAF_CHECK(log.relays.empty());
    CAF_CHECK_EQUAL(log.expects.size(), 1u); // inbound links from them: punched
  }
  CAF_CHECK_EQUAL(status(pr).introductions_served, 2u);
  // The link comes up: the traversal ends, punching stops.
  self->send(pa, connection_up{b, {}, direction::outbound, protocol::udp, node_role::node,
                               path_kind::punched_udp});
  sched.run();
  auto sent = w->logs[a].datagrams.size();
  settle(200); // 4 s: past punching and the traversal timeout
  CAF_CHECK_EQUAL(w->logs[a].datagrams.size(), sent);
  CAF_CHECK(w->logs[a].failures.empty());
  CAF_CHECK_EQUAL(status(pa).traversals_succeeded, 1u);
}

CAF_TEST(symmetric against cone goes to the relay at once) {
  auto pa = via_relay(true);
  auto& relays = w->logs[a].relays;
  CAF_REQUIRE_EQUAL(relays.size(), 1u);
  CAF_CHECK(relays[0].through == r && relays[0].target == b);
  CAF_CHECK(w->logs[b].relays.empty()); // only the initiator opens a circuit
  // Nobody connects: the traversal fails after its timeout (10 s).
  for (int i = 0; i < 11; ++i) {
    sched.advance_time(1s);
    sched.run();
  }
  auto& failures = w->logs[a].failures;
  CAF_REQUIRE_EQUAL(failures.size(), 1u);
  CAF_CHECK(failures[0].peer == b && failures[0].reason == ec::unreachable);
}

CAF_TEST(a relay refusal ends the traversal at once with its reason) {
  // Symmetric against cone: punching cannot work, so the relay is all there
  // is; its refusal (e.g. its per-peer circuit limit) is reported now.
  auto pa = via_relay(true);
  CAF_REQUIRE_EQUAL(w->logs[a].relays.size(), 1u);
  // A refusal for another peer, or through another relay, is stale.
  self->send(pa, relay_refused{r, pid(0xD), ec::too_many_connections});
  self->send(pa, relay_refused{pid(0xD), b, ec::too_many_connections});
  sched.run();
  CAF_CHECK(w->logs[a].failures.empty());
  self->send(pa, relay_refused{r, b, ec::too_many_connections});
  sched.run();
  auto& failures = w->logs[a].failures;
  CAF_REQUIRE_EQUAL(failures.size(), 1u);
  CAF_CHECK(failures[0].peer == b);
  CAF_CHECK_EQUAL(failures[0].reason, ec::too_many_connections);
  CAF_CHECK(failures[0].detail.find("refused the circuit (too_many_connections)")
            != std::string::npos);
  // Nothing more when the traversal's time limit passes.
  for (int i = 0; i < 11; ++i) {
    sched.advance_time(1s);
    sched.run();
  }
  CAF_CHECK_EQUAL(failures.size(), 1u);
}

CAF_TEST(a relay asked after punching failed reports its refusal at once) {
  // Cone against cone: the relay is asked when punching has not connected
  // by its end (3 s); its refusal ends the traversal then, not at the 10 s
  // limit, and with the relay's reason.
  auto pa = via_relay(false);
  // Punching has not connected by its end: the relay is asked.
  for (int i = 0; i < 40 && w->logs[a].relays.empty(); ++i) {
    sched.advance_time(100ms);
    sched.run();
  }
  CAF_REQUIRE_EQUAL(w->logs[a].relays.size(), 1u);
  self->send(pa, relay_refused{r, b, ec::not_connected});
  sched.run();
  auto& failures = w->logs[a].failures;
  CAF_REQUIRE_EQUAL(failures.size(), 1u);
  CAF_CHECK_EQUAL(failures[0].reason, ec::not_connected);
}

CAF_TEST(a relayed link tries for a direct path over the link itself) {
  auto up_cfg = cfg();
  up_cfg.relay_upgrade = 1s;
  up_cfg.relay_upgrade_max = 4s;
  up_cfg.traversal_timeout = 1500ms; // each attempt over before the next
  auto pa = node(a, up_cfg, "10.1.0.2", "203.0.113.1", false);
  auto pb = node(b, up_cfg, "10.2.0.2", "203.0.113.2", false);
  settle();
  relayed_link(a, b);
  settle(40); // 0.8 s: not yet
  CAF_CHECK(w->logs[a].dials.empty() && w->logs[b].dials.empty());
  sched.advance_time(200ms); // the first attempt, 1 s after the link came up
  settle(6);
  // Both learnt the other's info from the peer itself, punch and dial its
  // mapping; nobody turns to a relay (they have one).
  for (auto [me, them, ext] : {std::make_tuple(a, b, "203.0.113.2"),
                               std::make_tuple(b, a, "203.0.113.1")}) {
    auto& log = w->logs[me];
    CAF_REQUIRE(!log.dials.empty());
    CAF_CHECK_EQUAL(to_string(log.dials[0].remote), std::string("udp://") + ext + ":40000");
    CAF_CHECK(log.dials[0].path == path_kind::punched_udp);
    CAF_CHECK(log.dials[0].expected == them);
    CAF_CHECK(log.relays.empty());
    CAF_CHECK_EQUAL(log.expects.size(), 1u);
  }
  CAF_CHECK_EQUAL(status(pa).upgrades_tried, 1u);
  CAF_CHECK_EQUAL(status(pb).upgrades_tried, 1u);
  CAF_CHECK_EQUAL(status(pa).traversals_started, 0u); // not a traversal of the routing layer's
  // Nothing gets through: the attempt ends without a word to the routing
  // layer (the peer is still connected). The next comes 2 s after it ended,
  // the one after that 4 s after the second ended (seconds steps here: the
  // first ends at 3.1 s, the second runs 5.1-7.1 s, the third from 11.1 s).
  auto dials = w->logs[a].dials.size();
  for (int i = 0; i < 11; ++i) { // to 12.1 s
    sched.advance_time(1s);
    sched.run();
  }
  CAF_CHECK(w->logs[a].failures.empty() && w->logs[b].failures.empty());
  CAF_CHECK(w->logs[a].dials.size() > dials);
  CAF_CHECK_EQUAL(status(pa).upgrades_tried, 3u);
  // The punched link comes up (the node's duplicate rule moved the link):
  // no more attempts.
  self->send(pa, connection_up{b, {}, direction::outbound, protocol::udp, node_role::node,
                               path_kind::punched_udp});
  self->send(pb, connection_up{a, {}, direction::inbound, protocol::udp, node_role::node,
                               path_kind::punched_udp});
  sched.run();
  CAF_CHECK_EQUAL(status(pa).upgrades_succeeded, 1u);
  CAF_CHECK_EQUAL(status(pb).upgrades_succeeded, 1u);
  dials = w->logs[a].dials.size();
  for (int i = 0; i < 20; ++i) {
    sched.advance_time(1s);
    sched.run();
  }
  CAF_CHECK_EQUAL(w->logs[a].dials.size(), dials);
  CAF_CHECK_EQUAL(status(pa).upgrades_tried, 3u);
}

CAF_TEST(no upgrade where punching cannot work or the link is not relayed) {
  auto up_cfg = cfg();
  up_cfg.relay_upgrade = 1s;
  auto pa = node(a, up_cfg, "10.1.0.2", "203.0.113.1", true); // symmetric
  auto pb = node(b, up_cfg, "10.2.0.2", "203.0.113.2", true);  // both
  settle();
  relayed_link(a, b);
  sched.run();
  sched.advance_time(1s);
  settle(10);
  // The infos crossed; both saw punching cannot work, and neither dials.
  CAF_CHECK_EQUAL(status(pa).upgrades_tried, 1u);
  CAF_CHECK(w->logs[a].dials.empty() && w->logs[b].dials.empty());
  CAF_CHECK(w->logs[a].datagrams.empty() && w->logs[b].datagrams.empty());
  // A peer on a direct link that sends its own info as an introduction
  // (what only an upgrade does) is ignored: B's link to R is not relayed.
  node(r, up_cfg, "203.0.113.9", "203.0.113.9", false);
  settle();
  link(b, r);
  sched.run();
  rendezvous_msg m;
  m.type = rendezvous_msg::kind::introduction;
  m.stage = 0;
  m.nonce = 7;
  m.peer = r;
  m.info.peer = r;
  m.info.external = {endpoint{protocol::udp, "203.0.113.9", 40000}};
  self->send(pb, service_in{r, service_id::rendezvous, encode(m)});
  settle(10);
  CAF_CHECK(w->logs[b].dials.empty());
  CAF_CHECK_EQUAL(status(pb).upgrades_tried, 1u);
}

CAF_TEST(cone against random symmetric relays at once and probes over the relayed link) {
  // a: random-port symmetric NAT (the hard side), b: cone (the easy side).
  auto pa = via_relay(true);
  auto pb = w->punchers[b];
  CAF_REQUIRE_EQUAL(w->logs[a].relays.size(), 1u); // at once: only probing can find a's port
  // Meanwhile b punches a's address (a NAT that filters by address only
  // then lets a's dial in) and dials none of a's mappings; a dials b's.
  settle(5);
  bool punched_a = false;
  for (auto& d : w->logs[b].datagrams)
    punched_a |= d.remote.address == "203.0.113.1";
  CAF_CHECK(punched_a);
  for (auto& d : w->logs[b].dials)
    CAF_CHECK(d.remote.address != "203.0.113.1");
  CAF_REQUIRE(!w->logs[a].dials.empty());
  CAF_CHECK_EQUAL(to_string(w->logs[a].dials[0].remote), "udp://203.0.113.2:40000");
  CAF_CHECK(w->logs[a].holds.empty() && status(pb).birthday_probes == 0u); // not yet
  // The relayed link comes up: the first upgrade follows within
  // `birthday_delay` (1 s), not `relay_upgrade` (30 s).
  relayed_link(a, b);
  sched.run();
  CAF_CHECK(w->logs[a].holds.empty());
  sched.advance_time(1s);
  settle(5);
  CAF_CHECK_EQUAL(status(pa).upgrades_tried, 1u);
  // a holds sockets towards b's mapping; b probes ports of a's address
  // only, after a's sockets had time to open (256 at 2,000/s: 128 ms).
  auto& holds = w->logs[a].holds;
  CAF_REQUIRE(!holds.empty());
  CAF_CHECK_EQUAL(to_string(holds[0].target), "udp://203.0.113.2:40000");
  CAF_CHECK(holds[0].peer == b);
  w->logs[b].datagrams.clear();
  for (int i = 0; i < 150; ++i) { // 3 s
    sched.advance_time(20ms);
    sched.run();
  }
  size_t sockets = 0;
  for (auto& h : holds)
    sockets += h.count;
  CAF_CHECK_EQUAL(sockets, 256u);
  CAF_CHECK_EQUAL(status(pa).birthday_sockets, 256u);
  std::set<uint16_t> ports;
  for (auto& d : w->logs[b].datagrams) {
    if (d.remote == endpoint{protocol::udp, "10.1.0.2", 5000})
      continue; // the upgrade's punch of a's own address (a shared LAN)
    CAF_CHECK_EQUAL(d.remote.address, "203.0.113.1"); // nobody else
    ports.insert(d.remote.port);
  }
  auto sb = status(pb);
  CAF_CHECK_EQUAL(sb.birthday_probes, 1024u); // the whole budget, no more
  CAF_CHECK_GREATER_OR_EQUAL(ports.size(), 1024u);
  CAF_CHECK_EQUAL(sb.birthday_attempts, 1u);
  CAF_CHECK_EQUAL(status(pa).birthday_attempts, 1u);
  // Nothing landed: the attempt ends quietly, a's sockets go, no more probes.
  for (int i = 0; i < 30; ++i) {
    sched.advance_time(100ms);
    sched.run();
  }
  CAF_CHECK_EQUAL(w->logs[a].releases, 1u);
  CAF_CHECK(w->logs[a].failures.size() <= 1u); // the first traversal's own, if any
  CAF_CHECK_EQUAL(status(pb).birthday_probes, 1024u);
}

CAF_TEST(one birthday attempt per peer per interval whoever asks) {
  auto up_cfg = cfg();
  up_cfg.relay_upgrade = 1s;
  auto pa = node(a, up_cfg, "10.1.0.2", "203.0.113.1", true);  // hard
  auto pb = node(b, up_cfg, "10.2.0.2", "203.0.113.2", false); // easy
  settle();
  relayed_link(a, b); // a asks for upgrades: at 1 s, then 2 s after each ends
  for (int i = 0; i < 200; ++i) { // 20 s: several attempts
    sched.advance_time(100ms);
    sched.run();
  }
  CAF_CHECK_GREATER_OR_EQUAL(status(pa).upgrades_tried, 3u);
  // Only the first probed: 256 sockets, 1,024 probes, one attempt each.
  CAF_CHECK_EQUAL(status(pa).birthday_attempts, 1u);
  CAF_CHECK_EQUAL(status(pb).birthday_attempts, 1u);
  CAF_CHECK_EQUAL(status(pa).birthday_sockets, 256u);
  CAF_CHECK_EQUAL(status(pb).birthday_probes, 1024u);
  for (int i = 0; i < 400; ++i) { // the next attempt after 30 s probes again
    sched.advance_time(100ms);
    sched.run();
  }
  CAF_CHECK_EQUAL(status(pb).birthday_attempts, 2u);
}

CAF_TEST(a birthday hit moves the link and releases the sockets) {
  auto up_cfg = cfg();
  up_cfg.relay_upgrade = 1s;
  auto pa = node(a, up_cfg, "10.1.0.2", "203.0.113.1", true); // hard
  auto pb = node(b, up_cfg, "10.2.0.2", "203.0.113.2", false); // easy
  settle();
  relayed_link(b, a); // the easy side opened it: it asks for the upgrade
  sched.run();
  sched.advance_time(1s);
  settle(20);
  CAF_REQUIRE(!w->logs[a].holds.empty());
  CAF_CHECK(status(pb).birthday_probes > 0u);
  // The node found the hit and dialled from that socket: the link moved.
  self->send(pa, connection_up{b, {}, direction::outbound, protocol::udp, node_role::node,
                               path_kind::punched_udp});
  self->send(pb, connection_up{a, {}, direction::inbound, protocol::udp, node_role::node,
                               path_kind::punched_udp});
  sched.run();
  CAF_CHECK_EQUAL(w->logs[a].releases, 1u);
  CAF_CHECK_EQUAL(status(pa).birthday_succeeded, 1u);
  CAF_CHECK_EQUAL(status(pb).birthday_succeeded, 1u);
  auto probes = status(pb).birthday_probes;
  CAF_CHECK(probes < 1024u);
  settle(50);
  CAF_CHECK_EQUAL(status(pb).birthday_probes, probes); // no more
}

CAF_TEST(cone against sequential symmetric punches the predicted ports) {
  w->sequential[a] = true; // a's NAT: 40000, then 40001, then ...
  auto pa = via_relay(true);
  // Direct is likely: punching first, the relay only after its window.
  CAF_CHECK(w->logs[a].relays.empty());
  settle(5);
  std::set<uint16_t> ports;
  for (auto& d : w->logs[b].datagrams)
    if (d.remote.address == "203.0.113.1")
      ports.insert(d.remote.port);
  for (uint16_t p = 40002; p < 40002 + predicted_window; ++p)
    CAF_CHECK(ports.count(p) == 1);
  CAF_CHECK_EQUAL(ports.size(), 2u + predicted_window);
  for (int i = 0; i < 40 && w->logs[a].relays.empty(); ++i) {
    sched.advance_time(100ms);
    sched.run();
  }
  CAF_CHECK_EQUAL(w->logs[a].relays.size(), 1u);
  CAF_CHECK_EQUAL(status(pa).birthday_attempts, 0u);
}

CAF_TEST(rendezvous failures are reported) {
  auto pa = node(a, cfg(), "10.1.0.2", "203.0.113.1", false);
  node(b, cfg(), "10.2.0.2", "203.0.113.2", false);
  node(r, cfg(), "203.0.113.9", "203.0.113.9", false);
  settle();
  // Through a peer we are not connected to.
  self->send(pa, connect_via{b, r});
  sched.run();
  CAF_REQUIRE_EQUAL(w->logs[a].failures.size(), 1u);
  CAF_CHECK(w->logs[a].failures[0].reason == ec::not_connected);
  // Through R, which is not connected to B: asked again a few times
  // (B may be finishing its handshake with R), then reported.
  link(a, r);
  sched.run();
  self->send(pa, connect_via{b, r});
  settle(100); // 2 s
  CAF_REQUIRE_EQUAL(w->logs[a].failures.size(), 2u);
  CAF_CHECK(w->logs[a].failures[1].reason == ec::not_connected);
  CAF_CHECK(w->logs[a].dials.empty());
  // B connects to R while A is asking again: the introduction goes through.
  self->send(pa, connect_via{b, r});
  settle(5);
  link(b, r);
  settle(40);
  CAF_CHECK_EQUAL(w->logs[a].failures.size(), 2u);
  CAF_CHECK(!w->logs[a].dials.empty());
  // Garbage on the rendezvous service is dropped without effect.
  self->send(pa, service_in{r, service_id::rendezvous, bytes{1, 2, 3}});
  sched.run();
  CAF_CHECK_EQUAL(w->logs[a].failures.size(), 2u);
  // An answer with a nonce we never used is ignored.
  rendezvous_msg forged;
  forged.type = rendezvous_msg::kind::introduction;
  forged.stage = 1;
  forged.nonce = 12345;
  forged.peer = b;
  forged.info.external = {endpoint{protocol::udp, "198.51.100.66", 1}};
  auto dials = w->logs[a].dials.size();
  self->send(pa, service_in{r, service_id::rendezvous, encode(forged)});
  sched.run();
  CAF_CHECK_EQUAL(w->logs[a].dials.size(), dials);
}

CAF_TEST(reachability checks dial back only where the requester connects from) {
  // A listens on a public address; B behind a NAT (its own address is
  // 10.x, R sees it as its router). Both ask R to dial them back.
  auto pa = node(a, cfg(), "203.0.113.1", "203.0.113.1", false);
  auto pb = node(b, cfg(), "10.2.0.2", "203.0.113.2", false);
  auto pr = node(r, cfg(), "203.0.113.9", "203.0.113.9", false);
  settle();
  w->reachable = {endpoint{protocol::tcp, "203.0.113.1", 5000}}; // A's UDP is filtered
  for (auto [x, seen] : {std::make_pair(a, "203.0.113.1"), std::make_pair(b, "203.0.113.2")}) {
    // As a node does: R's puncher hears of the link before any service
    // message on it.
    w->links.insert({x, r});
    self->send(pr, connection_up{x, endpoint{protocol::tcp, seen, 40000}, direction::inbound});
    sched.run();
    self->send(w->punchers[x], connection_up{r, endpoint{protocol::tcp, "203.0.113.9", 5000},
                                             direction::outbound});
  }
  settle();
  // R dialled A's endpoints and its STUN mapping (all at the address A
  // connects from) and B's mapping at its router, none of B's own 10.x
  // endpoints: no dials at third parties.
  auto& probes = w->logs[r].probes;
  CAF_REQUIRE_EQUAL(probes.size(), 4u);
  size_t at_a = 0;
  for (auto& p : probes) {
    at_a += p.target.address == "203.0.113.1";
    CAF_CHECK(p.target.address == "203.0.113.1" || to_string(p.target) == "udp://203.0.113.2:40000");
    CAF_CHECK(p.expected == (p.target.address == "203.0.113.1" ? a : b));
  }
  CAF_CHECK_EQUAL(at_a, 3u);
  auto sa = status(pa);
  CAF_REQUIRE_EQUAL(sa.reachable.size(), 1u);
  CAF_CHECK_EQUAL(to_string(sa.reachable[0]), "tcp://203.0.113.1:5000");
  CAF_CHECK_EQUAL(sa.unreachable.size(), 2u); // both UDP endpoints: filtered
  CAF_CHECK(w->logs[a].unreachable == sa.unreachable); // told to the node (for discovery)
  auto sb = status(pb);
  CAF_CHECK(sb.reachable.empty());
  CAF_REQUIRE_EQUAL(sb.unreachable.size(), 1u);
  CAF_CHECK_EQUAL(to_string(sb.unreachable[0]), "udp://203.0.113.2:40000");
  CAF_CHECK_EQUAL(status(pr).probes_served, 4u);
  // A second check from A within the interval is refused outright.
  reachability_msg again;
  again.type = reachability_msg::kind::check;
  again.nonce = 7;
  again.endpoints = {endpoint{protocol::tcp, "203.0.113.1", 5000}};
  self->send(pr, service_in{a, service_id::reachability, encode(again)});
  settle();
  CAF_CHECK_EQUAL(probes.size(), 4u);
  // Malformed checks are dropped, nothing dialled.
  self->send(pr, service_in{b, service_id::reachability, bytes{1, 2, 3}});
  settle();
  CAF_CHECK_EQUAL(probes.size(), 4u);
}

CAF_TEST(a tcp endpoint no dial back reached leaves our connection info) {
  auto pa = node(a, cfg(), "203.0.113.1", "203.0.113.1", false);
  auto pr = node(r, cfg(), "203.0.113.9", "203.0.113.9", false);
  settle();
  w->reachable = {}; // a firewall drops everything unsolicited
  w->links.insert({a, r});
  self->send(pr, connection_up{a, endpoint{protocol::tcp, "203.0.113.1", 40000},
                               direction::inbound});
  sched.run();
  self->send(pa, connection_up{r, endpoint{protocol::tcp, "203.0.113.9", 5000},
                               direction::outbound});
  settle();
  CAF_CHECK_EQUAL(status(pa).unreachable.size(), 3u);
  self->send(pa, prepare_connection_info{1});
  sched.run();
  auto& infos = w->logs[a].infos;
  CAF_REQUIRE_EQUAL(infos.size(), 1u);
  // The UDP endpoint stays (punching aims at it); the TCP one is no use.
  CAF_REQUIRE_EQUAL(infos[0].info.local.size(), 1u);
  CAF_CHECK_EQUAL(to_string(infos[0].info.local[0]), "udp://203.0.113.1:5000");
}

CAF_TEST(relay joins circuits and refuses beyond its limits) {
  auto relay_cfg = cfg(true);
  relay_cfg.relay.circuits_per_peer = 1;
  auto pr = node(r, relay_cfg, "203.0.113.9", "203.0.113.9", false);
  node(a, cfg(), "10.1.0.2", "203.0.113.1", false);
  node(b, cfg(), "10.2.0.2", "203.0.113.2", false);
  settle();
  link(a, r);
  link(b, r);
  sched.run();
  auto to_relay = [&](const peer_id& from, relay_msg m) {
    self->send(pr, service_in{from, service_id::relay, encode(m)});
    sched.run();
  };
  auto last_out = [&](const peer_id& to) {
    relay_msg m;
    for (auto& x : w->logs[r].relay_out)
      if (x.peer == to)
        CAF_REQUIRE_EQUAL(decode(x.body, m), ec::none);
    return m;
  };
  to_relay(a, relay_msg{relay_msg::kind::open, 7, b, {}, 0, ec::none});
  auto incoming = last_out(b);
  CAF_REQUIRE(incoming.type == relay_msg::kind::incoming);
  CAF_CHECK(incoming.peer == a);
  CAF_CHECK(last_out(a).type == relay_msg::kind::opened);
  CAF_CHECK_EQUAL(last_out(a).circuit, 7u);
  // Bytes go across, to the other side's circuit id.
  to_relay(a, relay_msg{relay_msg::kind::data, 7, {}, bytes(1000, 0x42), 0, ec::none});
  auto data = last_out(b);
  CAF_CHECK(data.type == relay_msg::kind::data_out);
  CAF_CHECK_EQUAL(data.circuit, incoming.circuit);
  CAF_CHECK_EQUAL(data.data.size(), 1000u);
  to_relay(b, relay_msg{relay_msg::kind::ack, incoming.circuit, {}, {}, 1000, ec::none});
  CAF_CHECK(last_out(a).type == relay_msg::kind::ack_out);
  CAF_CHECK_EQUAL(last_out(a).n, 1000u);
  CAF_CHECK_EQUAL(status(pr).relayed_bytes, 1000u);
  // One circuit per peer here: a second is refused.
  to_relay(a, relay_msg{relay_msg::kind::open, 8, b, {}, 0, ec::none});
  CAF_CHECK(last_out(a).type == relay_msg::kind::close_out);
  CAF_CHECK(last_out(a).reason == ec::too_many_connections);
  // B's link goes: A hears its circuit closed.
  self->send(pr, connection_down{b, ec::peer_timeout});
  sched.run();
  auto closed = last_out(a);
  CAF_CHECK(closed.type == relay_msg::kind::close_out && closed.circuit == 7u);
  // A node that does not relay says so.
  auto plain = w->punchers[a];
  w->links.insert({a, b});
  self->send(plain, service_in{b, service_id::relay,
                               encode(relay_msg{relay_msg::kind::open, 1, r, {}, 0, ec::none})});
  sched.run();
  CAF_REQUIRE(!w->logs[a].relay_out.empty());
  relay_msg no;
  CAF_REQUIRE_EQUAL(decode(w->logs[a].relay_out.back().body, no), ec::none);
  CAF_CHECK(no.type == relay_msg::kind::close_out && no.reason == ec::unsupported);
}

CAF_TEST_FIXTURE_SCOPE_END()
