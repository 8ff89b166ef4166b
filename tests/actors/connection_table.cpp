// The manager's rules, without actors: one connection per peer, the
// duplicate tie-break both ends agree on, grace periods and re-dial targets.
#define CAF_SUITE actors.connection_table
#include <caf/test/unit_test.hpp>

#include "actors/connection_table.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

peer_id make_peer(uint8_t first) {
  peer_id p;
  p.key[0] = first;
  p.key[31] = 1;
  return p;
}

connection_table::link make_link(connection_table::conn_id id, direction dir, uint8_t hash,
                                 uint16_t listen_port = 0) {
  connection_table::link l;
  l.id = id;
  l.dir = dir;
  l.remote = endpoint{protocol::tcp, "127.0.0.1", static_cast<uint16_t>(40000 + id)};
  l.listen_port = listen_port;
  l.handshake_hash = bytes(32, hash);
  return l;
}

} // namespace

CAF_TEST(the first connection is admitted and reported up once) {
  connection_table t(make_peer(1));
  auto p = make_peer(2);
  auto a = t.on_handshake(p, make_link(1, direction::outbound, 9));
  CAF_CHECK(a.outcome == connection_table::verdict::admit);
  CAF_CHECK(a.report_up);
  CAF_REQUIRE(t.active(p) != nullptr);
  CAF_CHECK_EQUAL(t.active(p)->id, 1u);
  CAF_CHECK_EQUAL(t.size(), 1u);
}

CAF_TEST(both ends of a simultaneous dial keep the same connection) {
  // Node A (id 1) and node B (id 2) dial each other. Connection X is A's
  // dial, Y is B's. Each end sees X and Y with opposite directions.
  auto a_id = make_peer(1);
  auto b_id = make_peer(2);
  for (int order = 0; order < 2; ++order) {
    connection_table at_a(a_id), at_b(b_id);
    auto x_at_a = make_link(10, direction::outbound, 5); // A initiated X
    auto y_at_a = make_link(11, direction::inbound, 3);
    auto x_at_b = make_link(20, direction::inbound, 5);
    auto y_at_b = make_link(21, direction::outbound, 3); // B initiated Y
    if (order == 0) {
      at_a.on_handshake(b_id, x_at_a);
      at_a.on_handshake(b_id, y_at_a);
      at_b.on_handshake(a_id, y_at_b);
      at_b.on_handshake(a_id, x_at_b);
    } else {
      at_a.on_handshake(b_id, y_at_a);
      at_a.on_handshake(b_id, x_at_a);
      at_b.on_handshake(a_id, x_at_b);
      at_b.on_handshake(a_id, y_at_b);
    }
    // The initiator with the smaller id is A: both keep X.
    CAF_CHECK_EQUAL(at_a.active(b_id)->id, 10u);
    CAF_CHECK_EQUAL(at_b.active(a_id)->id, 20u);
  }
}

CAF_TEST(both ends agree on a link both dialled (TCP simultaneous open)) {
  // S is one TCP connection both dialled: outbound at both ends, and the
  // handshake made B its initiator (A's dial turned responder). U is a
  // punched UDP link A dialled. Who began the handshake breaks the tie,
  // so both keep the same link whatever the order, and with either role.
  auto a_id = make_peer(1);
  auto b_id = make_peer(2);
  for (int b_began = 0; b_began < 2; ++b_began)
    for (int order = 0; order < 2; ++order) {
      connection_table at_a(a_id), at_b(b_id);
      auto s_at_a = make_link(10, direction::outbound, 5);
      auto s_at_b = make_link(20, direction::outbound, 5);
      (b_began ? s_at_a : s_at_b).role_swapped = true;
      auto u_at_a = make_link(11, direction::outbound, 8);
      auto u_at_b = make_link(21, direction::inbound, 8);
      if (order == 0) {
        at_a.on_handshake(b_id, s_at_a);
        at_a.on_handshake(b_id, u_at_a);
        at_b.on_handshake(a_id, u_at_b);
        at_b.on_handshake(a_id, s_at_b);
      } else {
        at_a.on_handshake(b_id, u_at_a);
        at_a.on_handshake(b_id, s_at_a);
        at_b.on_handshake(a_id, s_at_b);
        at_b.on_handshake(a_id, u_at_b);
      }
      // A began U; A began S only when B's dial turned responder. The
      // initiator with the smaller id (A) wins, then the hash (5 < 8).
      bool s_wins = !b_began;
      CAF_CHECK_EQUAL(at_a.active(b_id)->id, s_wins ? 10u : 11u);
      CAF_CHECK_EQUAL(at_b.active(a_id)->id, s_wins ? 20u : 21u);
    }
}

CAF_TEST(a winning duplicate replaces silently and a losing one is rejected) {
  auto self = make_peer(1);
  auto p = make_peer(2);
  connection_table t(self);
  t.on_handshake(p, make_link(1, direction::inbound, 7));  // initiated by p (larger id)
  auto a = t.on_handshake(p, make_link(2, direction::outbound, 7)); // by us: wins
  CAF_CHECK(a.outcome == connection_table::verdict::admit_replacing);
  CAF_REQUIRE(a.replaced.has_value());
  CAF_CHECK_EQUAL(*a.replaced, 1u);
  CAF_CHECK(!a.report_up);
  auto b = t.on_handshake(p, make_link(3, direction::inbound, 1));
  CAF_CHECK(b.outcome == connection_table::verdict::reject);
  // Closing the replaced and the rejected connection reports nothing.
  CAF_CHECK(!t.on_closed(p, 1, ec::duplicate_connection).report_down);
  CAF_CHECK(!t.on_closed(p, 3, ec::duplicate_connection).report_down);
  CAF_CHECK_EQUAL(t.active(p)->id, 2u);
}

CAF_TEST(both ends keep a direct link over a relayed one whatever the order) {
  // R is a relayed link B opened (it would win on ids alone only if A had
  // opened it), D a punched link B dialled later. Both ends keep D.
  auto a_id = make_peer(1);
  auto b_id = make_peer(2);
  for (int a_opened_relay = 0; a_opened_relay < 2; ++a_opened_relay)
    for (int order = 0; order < 2; ++order) {
      connection_table at_a(a_id), at_b(b_id);
      auto r_at_a = make_link(10, a_opened_relay ? direction::outbound : direction::inbound, 1);
      auto r_at_b = make_link(20, a_opened_relay ? direction::inbound : direction::outbound, 1);
      r_at_a.path = r_at_b.path = path_kind::relayed;
      auto d_at_a = make_link(11, direction::inbound, 9);
      auto d_at_b = make_link(21, direction::outbound, 9);
      d_at_a.path = d_at_b.path = path_kind::punched_udp;
      for (auto* t : {&at_a, &at_b}) {
        auto& peer = t == &at_a ? b_id : a_id;
        auto& r = t == &at_a ? r_at_a : r_at_b;
        auto& d = t == &at_a ? d_at_a : d_at_b;
        auto first = t->on_handshake(peer, order == 0 ? r : d);
        CAF_CHECK(first.report_up);
        auto second = t->on_handshake(peer, order == 0 ? d : r);
        CAF_CHECK(!second.report_up);
        if (order == 0) {
          // The relayed link came first: the punched one replaces it.
          CAF_CHECK(second.outcome == connection_table::verdict::admit_replacing);
          CAF_CHECK(second.replaced_path == path_kind::relayed);
        } else {
          CAF_CHECK(second.outcome == connection_table::verdict::reject);
        }
      }
      CAF_CHECK_EQUAL(at_a.active(b_id)->id, 11u);
      CAF_CHECK_EQUAL(at_b.active(a_id)->id, 21u);
      CAF_CHECK(at_a.active(b_id)->path == path_kind::punched_udp);
    }
}

CAF_TEST(same-direction duplicates are broken by the handshake hash) {
  connection_table t(make_peer(1));
  auto p = make_peer(2);
  t.on_handshake(p, make_link(1, direction::outbound, 9));
  auto a = t.on_handshake(p, make_link(2, direction::outbound, 4));
  CAF_CHECK(a.outcome == connection_table::verdict::admit_replacing);
  auto b = t.on_handshake(p, make_link(3, direction::outbound, 6));
  CAF_CHECK(b.outcome == connection_table::verdict::reject);
}

CAF_TEST(a lost connection is reported down) {
  connection_table t(make_peer(1));
  auto p = make_peer(2);
  t.on_handshake(p, make_link(1, direction::outbound, 9));
  auto c = t.on_closed(p, 1, ec::peer_timeout);
  CAF_CHECK(c.report_down);
  CAF_CHECK(!c.redial);
  CAF_CHECK(!c.grace_token);
  CAF_CHECK(t.active(p) == nullptr);
  CAF_CHECK_EQUAL(t.size(), 0u);
}

CAF_TEST(a duplicate close waits for the replacement) {
  connection_table t(make_peer(1));
  auto p = make_peer(2);
  t.on_handshake(p, make_link(1, direction::outbound, 9));
  auto c = t.on_closed(p, 1, ec::duplicate_connection);
  CAF_CHECK(!c.report_down);
  CAF_REQUIRE(c.grace_token.has_value());
  // The replacement arrives in time: no up, no down.
  auto a = t.on_handshake(p, make_link(2, direction::inbound, 3));
  CAF_CHECK(a.outcome == connection_table::verdict::admit);
  CAF_CHECK(!a.report_up);
  CAF_CHECK(!t.on_grace_expired(p, *c.grace_token).report_down);
  // Without a replacement the peer is reported down when the grace ends.
  auto c2 = t.on_closed(p, 2, ec::duplicate_connection);
  CAF_REQUIRE(c2.grace_token.has_value());
  CAF_CHECK(t.on_grace_expired(p, *c2.grace_token).report_down);
}

CAF_TEST(a peer that went away can still be maintained where it listens) {
  connection_table t(make_peer(1));
  auto p = make_peer(2); // we dialled it: we know where it listens
  auto q = make_peer(3); // it dialled us and advertised no port: nowhere to dial
  t.on_handshake(p, make_link(1, direction::outbound, 9));
  t.on_handshake(q, make_link(2, direction::inbound, 9));
  t.on_closed(p, 1, ec::dropped);
  t.on_closed(q, 2, ec::dropped);
  CAF_CHECK(t.set_maintained(p, true));
  auto target = t.redial_target(p);
  CAF_REQUIRE(target.has_value());
  CAF_CHECK_EQUAL(target->port, 40001);
  CAF_CHECK(!t.set_maintained(q, true));
  CAF_CHECK_EQUAL(t.size(), 0u);
}

CAF_TEST(maintained peers are re-dialled where they listen) {
  connection_table t(make_peer(1));
  auto p = make_peer(2);
  auto q = make_peer(3);
  CAF_CHECK(!t.set_maintained(p, true)); // unknown peer: nothing to re-dial
  t.on_handshake(p, make_link(1, direction::outbound, 9));
  t.on_handshake(q, make_link(2, direction::inbound, 9, 5555));
  CAF_CHECK(t.set_maintained(p, true));
  CAF_CHECK(t.set_maintained(q, true));
  CAF_CHECK(!t.redial_target(p)); // connected: nothing to do
  auto c = t.on_closed(p, 1, ec::peer_timeout);
  CAF_CHECK(c.report_down);
  CAF_CHECK(c.redial);
  auto p_target = t.redial_target(p);
  CAF_REQUIRE(p_target.has_value());
  CAF_CHECK_EQUAL(p_target->port, 40001);
  t.on_closed(q, 2, ec::closed_by_peer);
  auto q_target = t.redial_target(q);
  CAF_REQUIRE(q_target.has_value());
  CAF_CHECK_EQUAL(q_target->port, 5555); // its advertised port
  CAF_CHECK(t.next_redial_delay(p, 100ms, 1000ms) == 100ms);
  CAF_CHECK(t.next_redial_delay(p, 100ms, 1000ms) == 200ms);
  for (int i = 0; i < 10; ++i)
    t.next_redial_delay(p, 100ms, 1000ms);
  CAF_CHECK(t.next_redial_delay(p, 100ms, 1000ms) == 1000ms);
  // Reconnecting resets the backoff; un-maintaining forgets the target.
  t.on_handshake(p, make_link(3, direction::outbound, 9));
  t.on_closed(p, 3, ec::peer_timeout);
  CAF_CHECK(t.next_redial_delay(p, 100ms, 1000ms) == 100ms);
  t.set_maintained(p, false);
  CAF_CHECK(!t.redial_target(p));
}
