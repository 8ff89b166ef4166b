// The manager actor under CAF's deterministic scheduler: a recording routing
// actor and fake connection actors stand in for the routing layer and the
// sockets, so every message the manager sends is observed in order.
#define CAF_SUITE actors.manager
#include <caf/test/dsl.hpp>

#include "actors/manager.hpp"

#include <sodium.h>

using namespace crust;
using namespace std::chrono_literals;

namespace {

using log_ptr = std::shared_ptr<std::vector<std::string>>;

std::string name_of(const peer_id& p, const peer_id& a, const peer_id& b) {
  return p == a ? "P" : p == b ? "Q" : short_string(p);
}

/// A routing actor that writes what it hears into a log.
routing_actor::behavior_type recorder(routing_actor::pointer, log_ptr log, peer_id p, peer_id q) {
  auto n = [=](const peer_id& x) { return name_of(x, p, q); };
  return {
    [=](connection_up& x) { log->push_back("up " + n(x.peer) + " " + to_string(x.dir)); },
    [=](connection_down& x) { log->push_back("down " + n(x.peer) + " " + to_string(x.reason)); },
    [=](path_changed& x) {
      log->push_back("path " + n(x.peer) + " " + to_string(x.from) + " " + to_string(x.to));
    },
    [=](message& x) {
      log->push_back("message " + n(x.peer) + " " + std::string(x.payload.begin(), x.payload.end()));
    },
    [=](listening& x) { log->push_back("listening " + std::to_string(x.endpoints.size())); },
    [=](alert& x) { log->push_back("alert " + to_string(x.kind) + " " + to_string(x.reason)); },
    [=](connect_failed& x) { log->push_back("connect_failed " + to_string(x.reason)); },
    [=](send_failed& x) {
      log->push_back("send_failed " + to_string(x.reason) + " "
                     + std::string(x.payload.begin(), x.payload.end()));
    },
    [](peer_discovered&) {},
    [](bootstrap_status&) {},
    [](connection_info_prepared&) {},
    [](traversal_failed&) {},
  };
}

/// A connection actor without a socket: it logs the manager's commands.
connection_actor::behavior_type fake_connection(connection_actor::pointer, log_ptr log,
                                                std::string name) {
  auto sent = [=](const crust::send& x) {
    log->push_back(name + " send " + std::string(x.payload.begin(), x.payload.end()));
  };
  return {
    [=](crust::send& x) { sent(x); },
    [=](send_batch& x) {
      log->push_back(name + " batch of " + std::to_string(x.sends.size()));
      for (auto& one : x.sends)
        sent(one);
    },
    [=](admit_atom) { log->push_back(name + " admit"); },
    [=](close_atom, ec reason) { log->push_back(name + " close " + to_string(reason)); },
    [=](race_lost_atom) { log->push_back(name + " race lost"); },
    [](flush_atom) {},
    [](tick_atom) {},
    [](stream_connected) {},
    [](stream_data&) {},
    [](stream_written) {},
    [](stream_ended&) {},
    [](stop_atom) {},
    [](peers_atom) { return peer_info{}; },
    [](service_out&) {}, // bootstrap-list requests and gossip: not what this test is about
    [](datagram_in&) {},
    [](datagram_batch&) {},
    [](credit_atom) {},
    [](closing_ack_atom) {},
    [=](gate_atom, bool on) { log->push_back(name + (on ? " gate" : " ungate")); },
  };
}

struct fixture : test_coordinator_fixture<> {
  fixture() {
    if (sodium_init() < 0)
      CAF_FAIL("libsodium failed to initialise");
    p = identity::generate().id();
    q = identity::generate().id();
    routing = sys.spawn(recorder, log, p, q);
    node_config cfg;
    cfg.listen = false;
    cfg.udp = false; // fake connections only: no socket
    cfg.duplicate_grace = 3s;
    mgr = sys.spawn(manager, std::make_shared<io_runtime>(1), cfg,
                    std::make_shared<const identity>(self_id), routing, delivery::each);
    c1 = sys.spawn(fake_connection, log, "c1");
    c2 = sys.spawn(fake_connection, log, "c2");
    c3 = sys.spawn(fake_connection, log, "c3");
    sched.run();
    log->clear();
  }

  ~fixture() {
    // The manager and its discovery helpers hold each other: stop it
    // explicitly, as a node's owner does.
    self->send_exit(mgr, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void handshake(const connection_actor& c, const peer_id& peer, direction dir,
                 uint8_t hash = 1, std::string address = "127.0.0.1") {
    self->send(mgr, handshake_done{peer, endpoint{protocol::tcp, address, 4000}, dir,
                                   node_role::node, 0, bytes(32, hash), c});
    sched.run();
  }

  void closed(const connection_actor& c, const peer_id& peer, ec reason, bool by_peer = false,
              direction dir = direction::outbound) {
    self->send(mgr, connection_closed{c, peer, true, reason, by_peer,
                                      endpoint{protocol::tcp, "127.0.0.1", 4000}, dir});
    sched.run();
  }

  std::vector<std::string> take_log() {
    auto result = *log;
    log->clear();
    return result;
  }

  identity self_id = identity::generate();
  peer_id p, q;
  log_ptr log = std::make_shared<std::vector<std::string>>();
  routing_actor routing;
  manager_actor mgr;
  connection_actor c1, c2, c3;
};

using strings = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(manager_tests, fixture)

CAF_TEST(a finished handshake is announced before the connection is admitted) {
  handshake(c1, p, direction::outbound);
  CAF_CHECK_EQUAL(take_log(), strings({"up P outbound", "c1 admit"}));
}

CAF_TEST(sends reach the connection of the peer or come back) {
  handshake(c1, p, direction::outbound);
  take_log();
  self->send(mgr, crust::send{p, bytes{'h', 'i'}, 1});
  self->send(mgr, crust::send{q, bytes{'y', 'o'}, 1});
  sched.run();
  // "hi" waits for the mailbox to be worked through (a backlog of sends to
  // one link goes as one batch); "yo" fails at once.
  CAF_CHECK_EQUAL(take_log(), strings({"send_failed not_connected yo", "c1 send hi"}));
}

CAF_TEST(sends under a backlog go as one batch and before the next command) {
  handshake(c1, p, direction::outbound);
  take_log();
  for (auto c : std::string("abcd"))
    self->send(mgr, crust::send{p, bytes{static_cast<uint8_t>(c)}, 1});
  self->send(mgr, crust::drop{p});
  self->send(mgr, crust::send{p, bytes{'e'}, 1});
  sched.run();
  // The close follows the batch: c1 takes a-d before it starts closing.
  // "e" comes after the drop: nothing is connected any more.
  CAF_CHECK_EQUAL(take_log(), strings({"c1 batch of 4", "c1 send a", "c1 send b", "c1 send c",
                                       "c1 send d", "c1 close dropped", "down P dropped",
                                       "send_failed not_connected e"}));
  // A lone send goes at once, unbatched.
  handshake(c2, p, direction::outbound);
  take_log();
  self->send(mgr, crust::send{p, bytes{'f'}, 1});
  expect((crust::send), from(self).to(mgr));
  expect((crust::send), from(mgr).to(c2));
  CAF_CHECK_EQUAL(take_log(), strings({"c2 send f"}));
}

CAF_TEST(a batch of sends ends at the size limit) {
  handshake(c1, p, direction::outbound);
  take_log();
  for (int i = 0; i < 300; ++i)
    self->send(mgr, crust::send{p, bytes{'x'}, 1});
  sched.run();
  auto got = take_log();
  CAF_REQUIRE(!got.empty());
  CAF_CHECK_EQUAL(got.front(), "c1 batch of 256");
  CAF_CHECK_EQUAL(std::count(got.begin(), got.end(), "c1 send x"), 300);
  CAF_CHECK_EQUAL(std::count(got.begin(), got.end(), "c1 batch of 44"), 1);
}

CAF_TEST(simultaneous dials end with the connection both ends choose) {
  // c1: we dialled p; c2: p dialled us. The initiator with the smaller id wins.
  bool we_win = self_id.id() < p;
  handshake(c1, p, direction::outbound);
  handshake(c2, p, direction::inbound);
  // The loser still delivers what p sent on it; the winner's delivery waits
  // for it (gate), so p's messages arrive in the order p sent them.
  if (we_win)
    CAF_CHECK_EQUAL(take_log(), strings({"up P outbound", "c1 admit", "c1 gate",
                                         "c2 close duplicate_connection"}));
  else
    CAF_CHECK_EQUAL(take_log(), strings({"up P outbound", "c1 admit",
                                         "c1 close duplicate_connection", "c2 gate",
                                         "c2 admit"}));
  // Our sends wait too: p must see what we sent on the loser first.
  self->send(mgr, crust::send{p, bytes{'x'}, 1});
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings{});
  // The loser's end is not news to the routing layer; it releases both.
  std::string winner = we_win ? "c1" : "c2";
  closed(we_win ? c2 : c1, p, ec::duplicate_connection);
  CAF_CHECK_EQUAL(take_log(), strings({winner + " ungate", winner + " send x"}));
  self->send(mgr, crust::send{p, bytes{'y'}, 1});
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings({winner + " send y"}));
}

CAF_TEST(a twin that lost to a third link while gated still drains) {
  // Three dials of ours to p, each winning over the one before (smaller
  // handshake hash): c2 is admitted gated behind c1, then loses to c3.
  handshake(c1, p, direction::outbound, 3);
  handshake(c2, p, direction::outbound, 2);
  handshake(c3, p, direction::outbound, 1);
  CAF_CHECK_EQUAL(take_log(), strings({"up P outbound", "c1 admit",
                                       "c1 close duplicate_connection", "c2 gate", "c2 admit",
                                       "c2 close duplicate_connection", "c3 gate", "c3 admit"}));
  self->send(mgr, crust::send{p, bytes{'x'}, 1});
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings{});
  // c1 delivered all it had: c2, older than c3, delivers next (held gated
  // it would never finish, and c3 would wait for it for ever).
  closed(c1, p, ec::duplicate_connection);
  CAF_CHECK_EQUAL(take_log(), strings({"c2 ungate"}));
  closed(c2, p, ec::duplicate_connection);
  CAF_CHECK_EQUAL(take_log(), strings({"c3 ungate", "c3 send x"}));
}

CAF_TEST(a gated link the peer closes drains after its twin and before the next) {
  // c2 wins over c1 and waits (gated) for c1 to deliver what it has; then
  // p closes c2 too, choosing a third link c3. What p sent on c2 comes
  // after c1's and before c3's: c2 must still deliver, and c3 wait for it.
  handshake(c1, p, direction::outbound, 3);
  handshake(c2, p, direction::outbound, 2);
  take_log();
  self->send(mgr, connection_closing{c2, p, ec::duplicate_connection});
  sched.run();
  handshake(c3, p, direction::outbound, 1);
  CAF_CHECK_EQUAL(take_log(), strings({"c3 gate", "c3 admit"}));
  self->send(mgr, crust::send{p, bytes{'x'}, 1});
  sched.run();
  closed(c1, p, ec::duplicate_connection);
  CAF_CHECK_EQUAL(take_log(), strings({"c2 ungate"}));
  closed(c2, p, ec::duplicate_connection, true);
  CAF_CHECK_EQUAL(take_log(), strings({"c3 ungate", "c3 send x"}));
  sched.advance_time(5s);
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings{});
}

CAF_TEST(a gated link the peer drops still drains) {
  handshake(c1, p, direction::outbound, 3);
  handshake(c2, p, direction::outbound, 2);
  take_log();
  self->send(mgr, connection_closing{c2, p, ec::dropped});
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings({"down P dropped"}));
  closed(c1, p, ec::duplicate_connection);
  CAF_CHECK_EQUAL(take_log(), strings({"c2 ungate"}));
}

CAF_TEST(a lost connection is reported down with its reason) {
  handshake(c1, p, direction::outbound);
  take_log();
  closed(c1, p, ec::peer_timeout);
  CAF_CHECK_EQUAL(take_log(), strings({"down P peer_timeout"}));
}

CAF_TEST(a connection the peer closed as a duplicate is replaced silently) {
  handshake(c1, p, direction::outbound);
  take_log();
  closed(c1, p, ec::duplicate_connection, true);
  CAF_CHECK_EQUAL(take_log(), strings{});
  handshake(c2, p, direction::inbound);
  CAF_CHECK_EQUAL(take_log(), strings({"c2 admit"}));
  sched.advance_time(5s);
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings{});
}

CAF_TEST(without a replacement the peer is reported down after the grace period) {
  handshake(c1, p, direction::outbound);
  take_log();
  closed(c1, p, ec::duplicate_connection, true);
  sched.advance_time(2s);
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings{});
  sched.advance_time(2s);
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings({"down P duplicate_connection"}));
}

CAF_TEST(drop closes the link and reports the peer down at once) {
  handshake(c1, p, direction::outbound);
  take_log();
  self->send(mgr, drop{p});
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings({"c1 close dropped", "down P dropped"}));
  // Sends after the drop fail; the link's own end is no news.
  self->send(mgr, crust::send{p, bytes{'z'}, 1});
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings({"send_failed not_connected z"}));
  closed(c1, p, ec::dropped);
  CAF_CHECK_EQUAL(take_log(), strings{});
}

CAF_TEST(a link the peer is closing stops serving sends at once) {
  handshake(c1, p, direction::outbound);
  take_log();
  self->send(mgr, connection_closing{c1, p, ec::dropped});
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings({"down P dropped"}));
  closed(c1, p, ec::dropped, true);
  CAF_CHECK_EQUAL(take_log(), strings{});
}

CAF_TEST(sends wait for the replacement of a duplicate link) {
  handshake(c1, p, direction::outbound);
  take_log();
  self->send(mgr, connection_closing{c1, p, ec::duplicate_connection});
  self->send(mgr, crust::send{p, bytes{'w'}, 1});
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings{});
  // What p sent on c1 comes first: c2 delivers, and takes our sends, once
  // c1 is done.
  handshake(c2, p, direction::inbound);
  CAF_CHECK_EQUAL(take_log(), strings({"c2 gate", "c2 admit"}));
  closed(c1, p, ec::duplicate_connection, true);
  CAF_CHECK_EQUAL(take_log(), strings({"c2 ungate", "c2 send w"}));
}

CAF_TEST(held sends fail when no replacement comes) {
  handshake(c1, p, direction::outbound);
  take_log();
  self->send(mgr, connection_closing{c1, p, ec::duplicate_connection});
  self->send(mgr, crust::send{p, bytes{'w'}, 1});
  sched.run();
  sched.advance_time(4s);
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings({"send_failed not_connected w", "down P duplicate_connection"}));
}

CAF_TEST(a subnet blacklist drops every matching connection at once) {
  handshake(c1, p, direction::outbound, 1, "198.51.100.7");
  handshake(c2, q, direction::inbound, 1, "198.51.100.9");
  handshake(c3, identity::generate().id(), direction::inbound, 1, "203.0.113.5");
  take_log();
  self->send(mgr, blacklist{blacklist_entry{blacklist_kind::subnet, {}, "198.51.100.0", 24}});
  sched.run();
  auto got = take_log();
  std::sort(got.begin(), got.end());
  CAF_CHECK_EQUAL(got, strings({"c1 close blacklisted", "c2 close blacklisted",
                                "down P blacklisted", "down Q blacklisted"}));
}

CAF_TEST(a blacklisted peer is refused right after its handshake) {
  self->send(mgr, blacklist{blacklist_entry{blacklist_kind::peer, p, "", 0}});
  sched.run();
  handshake(c1, p, direction::inbound);
  CAF_CHECK_EQUAL(take_log(), strings({"c1 close blacklisted"}));
  self->send(mgr, crust::connect{endpoint{protocol::tcp, "127.0.0.1", 0}});
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings({"connect_failed invalid_argument"}));
}

CAF_TEST(a malformed blacklist entry raises an alert) {
  self->send(mgr, blacklist{blacklist_entry{blacklist_kind::subnet, {}, "10.0.0.0", 40}});
  sched.run();
  CAF_CHECK_EQUAL(take_log(), strings({"alert listen_failure invalid_argument"}));
}

CAF_TEST(protocol violations from a peer raise an alert) {
  handshake(c1, p, direction::outbound);
  take_log();
  closed(c1, p, ec::decrypt_failed);
  CAF_CHECK_EQUAL(take_log(), strings({"alert protocol_violation decrypt_failed",
                                       "down P decrypt_failed"}));
}

CAF_TEST(shutdown closes every connection and then stops) {
  handshake(c1, p, direction::outbound);
  handshake(c2, q, direction::inbound);
  take_log();
  self->send(mgr, shutdown_atom::value);
  sched.run();
  auto got = take_log();
  std::sort(got.begin(), got.end());
  CAF_CHECK_EQUAL(got, strings({"c1 close shutting_down", "c2 close shutting_down"}));
  closed(c1, p, ec::shutting_down);
  closed(c2, q, ec::shutting_down, false, direction::inbound);
  got = take_log();
  std::sort(got.begin(), got.end());
  CAF_CHECK_EQUAL(got, strings({"down P shutting_down", "down Q shutting_down"}));
  // New connections are refused while shutting down.
  handshake(c3, identity::generate().id(), direction::inbound);
  CAF_CHECK_EQUAL(take_log(), strings{});
}

CAF_TEST_FIXTURE_SCOPE_END()
