// The gossip actor under CAF's deterministic scheduler, with recording
// stand-ins for the node, the bootstrap store and the routing layer:
// newcomers hear our record, new records are forwarded once (TTL - 1, never
// back to the sender), duplicates are dropped, a forged record is refused
// with an alert, and a flooding neighbour is cut at 64 records per window.
#define CAF_SUITE discovery.gossip_actor
#include <caf/test/dsl.hpp>

#include "discovery/gossip.hpp"
#include "discovery/peer_record_codec.hpp"
#include "transport/address.hpp"

#include <sodium.h>

using namespace crust;

namespace {

struct seen {
  std::vector<service_out> sent;          ///< through the node
  std::vector<peer_discovered> routing;   ///< told to the routing layer
  std::vector<alert> alerts;
  std::vector<peer_discovered> store;     ///< told to the bootstrap store
};

using seen_ptr = std::shared_ptr<seen>;

discovery_host_actor::behavior_type fake_host(discovery_host_actor::pointer, seen_ptr s) {
  return {
    [](crust::connect&) {},
    [s](service_out& x) { s->sent.push_back(std::move(x)); },
  };
}

bootstrap_store_actor::behavior_type fake_store(bootstrap_store_actor::pointer, seen_ptr s) {
  return {
    [](const connection_up&) {},
    [](const connection_down&) {},
    [](const connect_failed&) {},
    [](service_in&) {},
    [s](const peer_discovered& x) { s->store.push_back(x); },
    [](start_bootstrap_atom) {},
    [](stop_bootstrap_atom) {},
    [](bootstrap_list_atom) { return std::vector<bootstrap_entry>{}; },
  };
}

routing_actor::behavior_type fake_routing(routing_actor::pointer, seen_ptr s) {
  return {
    [](connection_up&) {},       [](connection_down&) {},  [](path_changed&) {}, [](message&) {},
    [](listening&) {},           [](connect_failed&) {},   [](send_failed&) {},
    [](bootstrap_status&) {},
    [](connection_info_prepared&) {},
    [](traversal_failed&) {},
    [s](alert& x) { s->alerts.push_back(std::move(x)); },
    [s](peer_discovered& x) { s->routing.push_back(std::move(x)); },
  };
}

endpoint ep(int i) {
  return *parse_endpoint("tcp://127.0.0.1:" + std::to_string(4000 + i));
}

uint64_t far_future() {
  return static_cast<uint64_t>(std::time(nullptr)) + 3600;
}

struct fixture : test_coordinator_fixture<> {
  fixture() {
    if (sodium_init() < 0)
      CAF_FAIL("libsodium failed to initialise");
    discovery_config cfg;
    cfg.gossip_ttl = 4;
    cfg.gossip_fanout = 4;
    host = sys.spawn(fake_host, s);
    store = sys.spawn(fake_store, s);
    routing = sys.spawn(fake_routing, s);
    g = sys.spawn(gossip, cfg, std::string{"crust"}, me, host, store, routing, logger_ptr{});
    sched.run();
  }

  ~fixture() {
    self->send_exit(g, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void up(const identity& who) {
    self->send(g, connection_up{who.id(), ep(1), direction::inbound, protocol::tcp,
                                node_role::node, path_kind::direct});
    sched.run();
  }

  void gossip_from(const identity& from, uint8_t ttl, const std::vector<peer_record>& xs) {
    self->send(g, service_in{from.id(), service_id::gossip, encode_gossip(ttl, xs)});
    sched.run();
  }

  /// Decodes what went to `to` (all messages), with their TTLs.
  std::vector<std::pair<uint8_t, peer_record>> sent_to(const identity& to) {
    std::vector<std::pair<uint8_t, peer_record>> result;
    for (auto& x : s->sent) {
      if (x.peer != to.id())
        continue;
      uint8_t ttl = 0;
      std::vector<peer_record> rs;
      CAF_REQUIRE_EQUAL(decode_gossip(x.body, "crust", ttl, rs), ec::none);
      for (auto& r : rs)
        result.emplace_back(ttl, r);
    }
    return result;
  }

  seen_ptr s = std::make_shared<seen>();
  std::shared_ptr<const identity> me = std::make_shared<const identity>(identity::generate());
  identity p = identity::generate();
  identity q = identity::generate();
  identity r = identity::generate();
  identity mallory = identity::generate();
  discovery_host_actor host;
  bootstrap_store_actor store;
  routing_actor routing;
  gossip_actor g;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(gossip_tests, fixture)

CAF_TEST(a newcomer hears our signed record) {
  self->send(g, listening{{ep(0)}});
  sched.run();
  up(p);
  auto got = sent_to(p);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK_EQUAL(got[0].first, 4);
  CAF_CHECK_EQUAL(got[0].second.peer, me->id());
  CAF_CHECK_EQUAL(got[0].second.endpoints, std::vector<endpoint>{ep(0)});
}

CAF_TEST(endpoints reachability checks could not reach leave our record) {
  self->send(g, listening{{ep(0), ep(2)}});
  self->send(g, reachability_changed{{ep(2)}});
  sched.run();
  up(p);
  auto got = sent_to(p);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK_EQUAL(got[0].second.endpoints, std::vector<endpoint>{ep(0)});
  // Nothing reachable: no record at all (nobody could dial it).
  self->send(g, reachability_changed{{ep(0), ep(2)}});
  sched.run();
  up(q);
  CAF_CHECK(sent_to(q).empty());
}

CAF_TEST(new records are reported and forwarded once and never back) {
  up(p);
  up(q);
  s->sent.clear();
  auto rec = make_peer_record(r, "crust", {ep(7)}, 10, far_future());
  gossip_from(p, 3, {rec});
  CAF_REQUIRE_EQUAL(s->routing.size(), 1u);
  CAF_CHECK_EQUAL(s->routing[0].peer, r.id());
  CAF_CHECK(s->routing[0].source == discovery_source::gossip);
  CAF_CHECK_EQUAL(s->store.size(), 1u);
  CAF_CHECK(sent_to(p).empty());
  auto fwd = sent_to(q);
  CAF_REQUIRE_EQUAL(fwd.size(), 1u);
  CAF_CHECK_EQUAL(fwd[0].first, 2); // TTL - 1
  CAF_CHECK_EQUAL(fwd[0].second.peer, r.id());
  // The same record again: nothing.
  gossip_from(q, 3, {rec});
  CAF_CHECK_EQUAL(s->routing.size(), 1u);
  CAF_CHECK_EQUAL(s->sent.size(), 1u);
  // A newer one travels again; at TTL 1 it is kept but goes no further.
  gossip_from(p, 1, {make_peer_record(r, "crust", {ep(8)}, 11, far_future())});
  CAF_CHECK_EQUAL(s->routing.size(), 2u);
  CAF_CHECK_EQUAL(s->sent.size(), 1u);
}

CAF_TEST(a forged record is refused with an alert) {
  up(p);
  up(q);
  s->sent.clear();
  auto forged = make_peer_record(mallory, "crust", {ep(66)}, 10, far_future());
  forged.peer = r.id(); // claims to be r
  gossip_from(p, 3, {forged});
  CAF_CHECK(s->routing.empty());
  CAF_CHECK(s->store.empty());
  CAF_CHECK(s->sent.empty());
  CAF_REQUIRE_EQUAL(s->alerts.size(), 1u);
  CAF_CHECK(s->alerts[0].kind == alert_kind::discovery_abuse);
  CAF_CHECK_EQUAL(s->alerts[0].reason, ec::bad_record);
  CAF_CHECK_EQUAL(s->alerts[0].peer, p.id());
  // Gossip from a peer that is not connected is ignored outright.
  gossip_from(mallory, 3, {make_peer_record(r, "crust", {ep(7)}, 10, far_future())});
  CAF_CHECK(s->routing.empty());
}

CAF_TEST(a flooding neighbour is cut off at 64 records per window) {
  up(p);
  for (int batch = 0; batch < 6; ++batch) {
    std::vector<peer_record> xs;
    for (int i = 0; i < 16; ++i)
      xs.push_back(make_peer_record(identity::generate(), "crust", {ep(100 + i)}, 1,
                                    far_future()));
    gossip_from(p, 1, xs);
  }
  CAF_CHECK_EQUAL(s->routing.size(), 64u);
}

CAF_TEST_FIXTURE_SCOPE_END()
