// Two real nodes in one actor system, over loopback sockets: handshake,
// messages both ways, 10,000 messages in order, large and oversized
// messages, queries, networks that must not mix, and a clean shutdown.
#define CAF_SUITE actors.two_nodes
#include <caf/test/unit_test.hpp>

#include "actors/node.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <variant>

using namespace crust;
using namespace std::chrono_literals;

namespace {

using event = std::variant<connection_up, connection_down, path_changed, message, message_batch,
                           listening, alert, connect_failed, send_failed, peer_discovered,
                           bootstrap_status, connection_info_prepared, traversal_failed>;

/// Events from a routing actor, waited for by the test thread.
class event_queue {
public:
  void push(event e) {
    std::lock_guard<std::mutex> guard{mtx_};
    events_.push_back(std::move(e));
    cv_.notify_all();
  }

  /// The next event of type T (skipping others), or nothing after `timeout`.
  template <class T>
  std::optional<T> next(std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock<std::mutex> guard{mtx_};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (auto i = events_.begin(); i != events_.end(); ++i) {
        if (auto x = std::get_if<T>(&*i)) {
          T result = std::move(*x);
          events_.erase(i);
          return result;
        }
      }
      if (cv_.wait_until(guard, deadline) == std::cv_status::timeout)
        return std::nullopt;
    }
  }

  /// Takes events of type T, handing each to `f` (which says how many
  /// messages it held), until `n` messages came or `timeout` passed; how
  /// many came.
  template <class T, class F>
  size_t take(size_t n, std::chrono::milliseconds timeout, F f) {
    size_t got = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        break;
      auto x = next<T>(left);
      if (!x)
        break;
      got += f(*x);
    }
    return got;
  }

  /// Waits until `n` messages arrived, then returns them all.
  std::vector<message> messages(size_t n, std::chrono::milliseconds timeout) {
    std::vector<message> result;
    take<message>(n, timeout, [&](message& m) {
      m.receipt.reset(); // processed: the payload is ours now, crust may read on
      result.push_back(std::move(m));
      return size_t{1};
    });
    return result;
  }

  /// `messages`, their payloads only.
  std::vector<bytes> payloads(size_t n, std::chrono::milliseconds timeout) {
    std::vector<bytes> result;
    for (auto& m : messages(n, timeout))
      result.push_back(std::move(m.payload));
    return result;
  }

  /// Waits until batches from `from` brought `n` messages, then returns
  /// their payloads in order; each batch's size goes to `sizes`.
  std::vector<bytes> batched(size_t n, const peer_id& from, std::vector<size_t>& sizes,
                             std::chrono::milliseconds timeout) {
    std::vector<bytes> result;
    take<message_batch>(n, timeout, [&](message_batch& b) {
      if (b.peer != from)
        CAF_FAIL("a batch names the wrong peer");
      b.receipt.reset();
      sizes.push_back(b.payloads.size());
      for (auto& p : b.payloads)
        result.push_back(std::move(p));
      return b.payloads.size();
    });
    return result;
  }

  /// Events of type T held now (not yet taken by the test).
  template <class T>
  size_t held() {
    return sum_held<T>([](const T&) { return size_t{1}; });
  }

  /// `weight` summed over the events of type T held now.
  template <class T, class F>
  size_t sum_held(F weight) {
    std::lock_guard<std::mutex> guard{mtx_};
    size_t n = 0;
    for (auto& e : events_)
      if (auto x = std::get_if<T>(&e))
        n += weight(*x);
    return n;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<event> events_;
};

/// A routing layer's behaviour that queues every event for the test:
/// `Behavior` is the interface's, `extra` its handlers beyond `routing_actor`.
template <class Behavior, class... Extra>
Behavior queue_behavior(std::shared_ptr<event_queue> q, Extra... extra) {
  return {
    extra...,
    [q](connection_up& x) { q->push(std::move(x)); },
    [q](connection_down& x) { q->push(std::move(x)); },
    [q](path_changed& x) { q->push(std::move(x)); },
    [q](message& x) { q->push(std::move(x)); },
    [q](listening& x) { q->push(std::move(x)); },
    [q](alert& x) { q->push(std::move(x)); },
    [q](connect_failed& x) { q->push(std::move(x)); },
    [q](send_failed& x) { q->push(std::move(x)); },
    [q](peer_discovered& x) { q->push(std::move(x)); },
    [q](bootstrap_status& x) { q->push(std::move(x)); },
    [q](connection_info_prepared& x) { q->push(std::move(x)); },
    [q](traversal_failed& x) { q->push(std::move(x)); },
  };
}

routing_actor::behavior_type queue_routing(routing_actor::pointer,
                                           std::shared_ptr<event_queue> q) {
  return queue_behavior<routing_actor::behavior_type>(q);
}

batch_routing_actor::behavior_type batch_queue_routing(batch_routing_actor::pointer,
                                                       std::shared_ptr<event_queue> q) {
  return queue_behavior<batch_routing_actor::behavior_type>(
    q, [q](message_batch& x) { q->push(std::move(x)); });
}

struct test_node {
  identity id = identity::generate();
  std::shared_ptr<event_queue> events = std::make_shared<event_queue>();
  routing_actor routing;
  node_actor node;
  endpoint listen_ep;

  /// `batches`: the routing layer takes messages as `message_batch`es.
  void start(caf::actor_system& sys, node_config cfg, bool batches = false) {
    cfg.listen_address = "127.0.0.1";
    // No reachability checks: their dial-backs are inbound connections too,
    // and these tests count connections exactly (nat.puncher_actor and the
    // NAT lab test the checks).
    cfg.nat.reachability_peers = 0;
    cfg.nat.serve_reachability = false;
    if (batches) {
      auto batching = sys.spawn(batch_queue_routing, events);
      routing = batching;
      node = spawn_batching_node(sys, cfg, id, batching);
    } else {
      routing = sys.spawn(queue_routing, events);
      node = spawn_node(sys, cfg, id, routing);
    }
    auto l = events->next<listening>();
    if (!l || l->endpoints.empty())
      CAF_FAIL("node did not report listening");
    listen_ep = l->endpoints.front();
  }

  void stop() {
    caf::anon_send(node, shutdown_atom::value);
    caf::anon_send_exit(routing, caf::exit_reason::user_shutdown);
  }
};

bytes text(const std::string& s) {
  return bytes(s.begin(), s.end());
}

/// The configuration as crust-node makes it (see tune_scheduler).
caf::actor_system_config& tuned(caf::actor_system_config& cfg) {
  tune_scheduler(cfg);
  return cfg;
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{tuned(cfg)};
  test_node a, b;

  fixture() {
    a.start(sys, node_config{});
    b.start(sys, node_config{});
  }

  ~fixture() {
    a.stop();
    b.stop();
  }

  void connect_a_to_b() {
    caf::anon_send(a.node, crust::connect{b.listen_ep});
    auto up_a = a.events->next<connection_up>();
    auto up_b = b.events->next<connection_up>();
    CAF_REQUIRE(up_a && up_b);
    CAF_CHECK_EQUAL(up_a->peer, b.id.id());
    CAF_CHECK_EQUAL(up_b->peer, a.id.id());
    CAF_CHECK(up_a->dir == direction::outbound);
    CAF_CHECK(up_b->dir == direction::inbound);
    CAF_CHECK(up_a->transport == protocol::tcp);
  }
};

} // namespace

/// "m0" ... "m<n-1>" arrive in order at `events`, and nothing more.
/// `got` is exactly "m0" ... "m<n-1>", in order.
void check_numbered(const std::vector<bytes>& got, size_t n) {
  CAF_REQUIRE_EQUAL(got.size(), n);
  for (size_t i = 0; i < n; ++i)
    if (got[i] != text("m" + std::to_string(i)))
      CAF_FAIL("message " << i << " out of order or corrupted");
}

void expect_numbered(event_queue& events, size_t n) {
  check_numbered(events.payloads(n, 30000ms), n);
  CAF_CHECK(!events.next<message>(200ms)); // and nothing more
}

CAF_TEST_FIXTURE_SCOPE(two_node_tests, fixture)

CAF_TEST(tune_scheduler turns polling rounds off and keeps a value set already) {
  caf::string_view key = "work-stealing.moderate-poll-attempts";
  caf::actor_system_config fresh;
  tune_scheduler(fresh);
  CAF_CHECK_EQUAL(caf::get_or(fresh.content, key, int64_t{-1}), 0);
  caf::actor_system_config chosen;
  chosen.set(key, int64_t{7});
  tune_scheduler(chosen);
  CAF_CHECK_EQUAL(caf::get_or(chosen.content, key, int64_t{-1}), 7);
}

CAF_TEST(hello world in both directions) {
  connect_a_to_b();
  caf::anon_send(a.node, crust::send{b.id.id(), text("hello from a"), 1});
  caf::anon_send(b.node, crust::send{a.id.id(), text("hello from b"), 1});
  auto at_b = b.events->next<message>();
  auto at_a = a.events->next<message>();
  CAF_REQUIRE(at_a && at_b);
  CAF_CHECK(at_b->payload == text("hello from a"));
  CAF_CHECK_EQUAL(at_b->peer, a.id.id());
  CAF_CHECK(at_a->payload == text("hello from b"));
  CAF_CHECK_EQUAL(at_a->peer, b.id.id());
}

CAF_TEST(ten thousand messages arrive in order and none is lost or duplicated) {
  connect_a_to_b();
  constexpr size_t n = 10000;
  for (size_t i = 0; i < n; ++i)
    caf::anon_send(a.node, crust::send{b.id.id(), text("m" + std::to_string(i)), 2});
  expect_numbered(*b.events, n);
}

CAF_TEST(post keeps the order of an actors sends whichever way it sends) {
  connect_a_to_b();
  constexpr size_t n = 2000;
  // One actor sends, alternating between `post` and `send`, and posts to an
  // invalid node (which does nothing) on the way. (Its state comes as spawn
  // arguments: CAF 0.17 dereferences a null argument tuple otherwise.)
  auto sender = sys.spawn([](caf::event_based_actor* self, node_actor node, peer_id peer) {
    for (size_t i = 0; i < n; ++i) {
      auto x = crust::send{peer, text("m" + std::to_string(i)), 2};
      if (i % 2 == 0)
        post(self, node, std::move(x));
      else
        self->send(node, std::move(x));
      if (i % 500 == 0)
        post(self, node_actor{}, crust::send{peer, text("lost"), 2});
    }
  }, a.node, b.id.id());
  expect_numbered(*b.events, n);
  caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);
}

CAF_TEST(a burst sent at once goes out with nothing else to move the link) {
  // Keepalives an hour apart: only the burst itself moves these links.
  node_config quiet;
  quiet.keepalive_interval = std::chrono::hours(1);
  quiet.peer_timeout = std::chrono::hours(2);
  test_node c, d;
  c.start(sys, quiet);
  d.start(sys, quiet);
  caf::anon_send(c.node, crust::connect{d.listen_ep});
  CAF_REQUIRE(c.events->next<connection_up>() && d.events->next<connection_up>());
  // 8 MiB in 1 MiB messages, then silence: far more than a connection hands
  // its stream per round (256 KiB), and what a stream sends at once is not
  // reported back to drive the next round.
  constexpr size_t n = 8;
  auto pattern = [](size_t i) {
    bytes m(1024 * 1024);
    for (size_t j = 0; j < m.size(); ++j)
      m[j] = static_cast<uint8_t>(i + j * 13);
    return m;
  };
  for (size_t i = 0; i < n; ++i)
    caf::anon_send(c.node, crust::send{d.id.id(), pattern(i), 3});
  auto got = d.events->messages(n, 20000ms);
  CAF_REQUIRE_EQUAL(got.size(), n);
  for (size_t i = 0; i < n; ++i)
    CAF_CHECK(got[i].payload == pattern(i));
  c.stop();
  d.stop();
}

CAF_TEST(large messages arrive intact and oversized ones come back) {
  connect_a_to_b();
  bytes big(1024 * 1024 + 3);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<uint8_t>(i * 7);
  caf::anon_send(a.node, crust::send{b.id.id(), big, 3});
  auto got = b.events->next<message>(10000ms);
  CAF_REQUIRE(got);
  CAF_CHECK(got->payload == big);
  bytes too_big(2 * 1024 * 1024 + 1, 1);
  caf::anon_send(a.node, crust::send{b.id.id(), too_big, 3});
  auto failed = a.events->next<send_failed>();
  CAF_REQUIRE(failed);
  CAF_CHECK_EQUAL(failed->reason, ec::message_too_large);
  CAF_CHECK_EQUAL(failed->payload.size(), too_big.size());
}

CAF_TEST(an oversized message amid a burst comes back and the rest arrive in order) {
  connect_a_to_b();
  // Sent at once, the burst reaches the connection in batches: the one
  // refused send must not hold back or drop its neighbours.
  constexpr size_t n = 2000;
  constexpr size_t bad = 1000;
  constexpr size_t too_big = 2 * 1024 * 1024 + 1;
  std::vector<bytes> payloads; // made first, so that the sends follow each other closely
  for (size_t i = 0; i < n; ++i)
    payloads.push_back(i == bad ? bytes(too_big, 1) : text("m" + std::to_string(i)));
  for (auto& x : payloads)
    caf::anon_send(a.node, crust::send{b.id.id(), std::move(x), 2});
  auto failed = a.events->next<send_failed>(10000ms);
  CAF_REQUIRE(failed);
  CAF_CHECK_EQUAL(failed->reason, ec::message_too_large);
  CAF_CHECK_EQUAL(failed->payload.size(), too_big);
  auto got = b.events->messages(n - 1, 30000ms);
  CAF_REQUIRE_EQUAL(got.size(), n - 1);
  for (size_t i = 0, k = 0; i < n; ++i) {
    if (i == bad)
      continue;
    if (got[k++].payload != text("m" + std::to_string(i)))
      CAF_FAIL("message " << i << " out of order or corrupted");
  }
  CAF_CHECK(!b.events->next<message>(200ms)); // and nothing more
}

CAF_TEST(queries answer about peers and the node) {
  connect_a_to_b();
  caf::scoped_actor self{sys};
  bool connected = false;
  self->request(a.node, 5s, is_connected_atom::value, b.id.id())
    .receive([&](bool x) { connected = x; }, [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK(connected);
  self->request(a.node, 5s, peer_address_atom::value, b.id.id())
    .receive([&](const endpoint& ep) { CAF_CHECK_EQUAL(ep, b.listen_ep); },
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  self->request(a.node, 5s, peer_address_atom::value, a.id.id())
    .receive([&](const endpoint&) { CAF_FAIL("an unknown peer has no address"); },
             [&](caf::error&) {});
  self->request(b.node, 5s, peers_atom::value)
    .receive(
      [&](const std::vector<peer_info>& xs) {
        CAF_REQUIRE_EQUAL(xs.size(), 1u);
        CAF_CHECK_EQUAL(xs[0].peer, a.id.id());
        CAF_CHECK(xs[0].dir == direction::inbound);
      },
      [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  self->request(a.node, 5s, info_atom::value)
    .receive(
      [&](const node_info& x) {
        CAF_CHECK_EQUAL(x.id, a.id.id());
        CAF_CHECK_EQUAL(x.connections, 1u);
        CAF_REQUIRE_EQUAL(x.listening.size(), 2u); // TCP, and reliable UDP on the same port
        CAF_CHECK(x.listening[0].proto == protocol::tcp);
        CAF_CHECK(x.listening[1].proto == protocol::udp);
        CAF_CHECK_EQUAL(x.listening[1].port, x.listening[0].port);
      },
      [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
}

namespace {

node_stats stats_of(caf::actor_system& sys, const node_actor& node) {
  caf::scoped_actor self{sys};
  node_stats result;
  self->request(node, 5s, stats_atom::value)
    .receive([&](node_stats& x) { result = std::move(x); },
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  return result;
}

/// Asks for stats until `ok` holds (write completions reach the counters
/// asynchronously), at most 50 times 20 ms.
template <class Predicate>
node_stats stats_until(caf::actor_system& sys, const node_actor& node, Predicate ok) {
  auto x = stats_of(sys, node);
  for (int i = 0; i < 50 && !ok(x); ++i) {
    std::this_thread::sleep_for(20ms);
    x = stats_of(sys, node);
  }
  return x;
}

} // namespace

CAF_TEST(stats count messages and bytes each way and keep totals of closed links) {
  connect_a_to_b();
  for (int i = 0; i < 10; ++i)
    caf::anon_send(a.node, crust::send{b.id.id(), bytes(1000, uint8_t(i)), 0});
  CAF_REQUIRE_EQUAL(b.events->messages(10, 5000ms).size(), 10u);
  auto sa = stats_until(sys, a.node, [](const node_stats& x) {
    return !x.peers.empty() && x.peers[0].bytes_sent >= 10000;
  });
  auto sb = stats_of(sys, b.node);
  CAF_CHECK_EQUAL(sa.connections, 1u);
  CAF_CHECK_EQUAL(sa.outbound, 1u);
  CAF_CHECK_EQUAL(sb.inbound, 1u);
  CAF_CHECK_EQUAL(sa.dials, 1u);
  CAF_CHECK_EQUAL(sb.accepted, 1u);
  CAF_CHECK_EQUAL(sa.handshakes, 1u);
  CAF_CHECK_EQUAL(sb.handshakes, 1u);
  CAF_REQUIRE_EQUAL(sa.peers.size(), 1u);
  CAF_REQUIRE_EQUAL(sb.peers.size(), 1u);
  auto& pa = sa.peers[0];
  auto& pb = sb.peers[0];
  CAF_CHECK_EQUAL(pa.peer, b.id.id());
  CAF_CHECK(pa.transport == protocol::tcp);
  CAF_CHECK(pa.path == path_kind::direct);
  CAF_CHECK_EQUAL(pa.messages_sent, 10u);
  CAF_CHECK_EQUAL(pb.messages_received, 10u);
  // Ciphertext, framing and the handshake included: more than the payload.
  CAF_CHECK_GREATER(pa.bytes_sent, 10000u);
  CAF_CHECK_GREATER(pb.bytes_received, 10000u);
  CAF_CHECK_GREATER(pb.bytes_sent, 0u);
  CAF_CHECK_EQUAL(sa.bytes_sent, pa.bytes_sent);
  // After the link is gone its totals stay in the node's counters.
  caf::anon_send(a.node, drop{b.id.id()});
  CAF_REQUIRE(a.events->next<connection_down>());
  CAF_REQUIRE(b.events->next<connection_down>());
  auto after = stats_until(sys, a.node,
                           [](const node_stats& x) { return x.connections_closed == 1; });
  CAF_CHECK_EQUAL(after.connections, 0u);
  CAF_CHECK_EQUAL(after.connections_closed, 1u);
  CAF_CHECK_EQUAL(after.messages_sent, 10u);
  CAF_CHECK_GREATER_OR_EQUAL(after.bytes_sent, pa.bytes_sent);
  CAF_CHECK(after.peers.empty());
}

CAF_TEST(dropping a peer closes both ends with the reason) {
  connect_a_to_b();
  caf::anon_send(a.node, drop{b.id.id()});
  auto down_a = a.events->next<connection_down>();
  auto down_b = b.events->next<connection_down>();
  CAF_REQUIRE(down_a && down_b);
  CAF_CHECK_EQUAL(down_a->reason, ec::dropped);
  CAF_CHECK_EQUAL(down_b->reason, ec::dropped);
  // A connect right after the drop dials again.
  caf::anon_send(a.node, crust::connect{b.listen_ep});
  CAF_CHECK(a.events->next<connection_up>());
  CAF_CHECK(b.events->next<connection_up>());
}

CAF_TEST(TCP and reliable UDP racing to the end leave one link at both ends) {
  // Reliable UDP joins every dial at once: the two attempts race through
  // their handshakes, and either may finish first at either end. The ends
  // must keep the same link: the dialling side sees one connection_up, and
  // neither a loss nor a failed dial. The attempt c gives up mid-handshake
  // says so (a handshake abort): d neither waits for it nor alerts.
  node_config cfg;
  cfg.udp_fallback_delay = 0ms;
  cfg.limits.connection_rate = 0; // two dials per round from one address
  test_node c, d;
  c.start(sys, cfg);
  d.start(sys, cfg);
  for (int round = 0; round < 40; ++round) {
    caf::anon_send(c.node, crust::connect{d.listen_ep});
    auto up_c = c.events->next<connection_up>();
    auto up_d = d.events->next<connection_up>();
    CAF_REQUIRE(up_c && up_d);
    caf::anon_send(c.node, crust::send{d.id.id(), text("r" + std::to_string(round)), 1});
    auto m = d.events->next<message>();
    if (!m || m->payload != text("r" + std::to_string(round)))
      CAF_FAIL("round " << round << ": the message did not arrive");
    caf::anon_send(c.node, drop{d.id.id()});
    auto down_c = c.events->next<connection_down>();
    auto down_d = d.events->next<connection_down>();
    CAF_REQUIRE(down_c && down_d);
    if (down_c->reason != ec::dropped || down_d->reason != ec::dropped)
      CAF_FAIL("round " << round << ": down with " << to_string(down_c->reason) << " and "
                        << to_string(down_d->reason));
    // Until c's losing attempt is gone too. If it finished its handshake at
    // d after the drop (the transports do not order the two links), d sees
    // it come and go: closed by c as dropped, or as the duplicate it was at
    // c (then after d's grace for a replacement). c reports nothing of it.
    auto s = stats_until(sys, c.node, [](const node_stats& x) { return x.links == 0; });
    CAF_REQUIRE_EQUAL(s.links, 0u);
    std::this_thread::sleep_for(20ms);
    while (auto late = d.events->next<connection_up>(0ms)) {
      auto gone = d.events->next<connection_down>();
      CAF_REQUIRE(gone);
      CAF_CHECK(gone->reason == ec::dropped || gone->reason == ec::duplicate_connection);
    }
    // A losing UDP attempt c gave up mid-handshake told d so (ABORT): d's
    // half is gone long before its 5 s handshake timeout.
    auto sd = stats_until(sys, d.node, [](const node_stats& x) { return x.links == 0; });
    if (sd.links != 0 || sd.half_open != 0)
      CAF_FAIL("round " << round << ": d still has " << sd.links << " links, " << sd.half_open
                        << " half open");
    if (c.events->held<connect_failed>() > 0 || c.events->held<connection_up>() > 0
        || c.events->held<connection_down>() > 0)
      CAF_FAIL("round " << round << ": " << c.events->held<connect_failed>() << " failed dials, "
                        << c.events->held<connection_up>() << " more ups at c");
  }
  CAF_CHECK_EQUAL(stats_of(sys, c.node).dials_failed, 0u);
  auto sd = stats_of(sys, d.node);
  CAF_CHECK_EQUAL(sd.handshakes_failed, 0u);
  CAF_CHECK_EQUAL(sd.alerts, 0u);
  c.stop();
  d.stop();
}

CAF_TEST(a dial that ended takes its reliable UDP fallback timer with it) {
  // Short dials to one endpoint, one after another, for longer than the
  // fallback delay: each dial's timer fires during a later dial, which is
  // not slow. Reliable UDP must never join (d would send a RETRY for it).
  node_config cfg;
  cfg.udp_fallback_delay = 400ms;
  cfg.limits.connection_rate = 0;
  test_node c, d;
  c.start(sys, cfg);
  d.start(sys, cfg);
  auto until = std::chrono::steady_clock::now() + 1500ms;
  int rounds = 0;
  for (; rounds < 2000 && std::chrono::steady_clock::now() < until; ++rounds) {
    caf::anon_send(c.node, crust::connect{d.listen_ep});
    auto up_c = c.events->next<connection_up>();
    auto up_d = d.events->next<connection_up>();
    CAF_REQUIRE(up_c && up_d);
    caf::anon_send(c.node, drop{d.id.id()});
    CAF_REQUIRE(c.events->next<connection_down>());
    CAF_REQUIRE(d.events->next<connection_down>());
  }
  CAF_MESSAGE(rounds << " dials");
  CAF_CHECK_GREATER(rounds, 10);
  CAF_CHECK_EQUAL(stats_of(sys, d.node).udp_retries, 0u);
  CAF_CHECK_EQUAL(c.events->held<connection_up>(), 0u);
  c.stop();
  d.stop();
}

CAF_TEST(nodes of different networks cannot connect) {
  test_node c;
  node_config other;
  other.network = "another-network";
  c.start(sys, other);
  caf::anon_send(c.node, crust::connect{b.listen_ep});
  auto failed = c.events->next<connect_failed>();
  CAF_REQUIRE(failed);
  CAF_CHECK_EQUAL(failed->reason, ec::handshake_failed);
  auto warn = b.events->next<alert>();
  CAF_REQUIRE(warn);
  CAF_CHECK(warn->kind == alert_kind::handshake_failure);
  CAF_CHECK(!b.events->next<connection_up>(200ms));
  c.stop();
}

CAF_TEST(dialling a closed port fails cleanly) {
  auto closed_ep = b.listen_ep;
  b.stop();
  b.events->next<connection_down>(500ms); // nothing to wait for, but be sure
  // Give the listener a moment to close, then dial it.
  std::this_thread::sleep_for(200ms);
  caf::anon_send(a.node, crust::connect{closed_ep});
  auto failed = a.events->next<connect_failed>();
  CAF_REQUIRE(failed);
  CAF_CHECK_EQUAL(failed->reason, ec::connect_failed);
}

CAF_TEST(shutdown tells the other side) {
  connect_a_to_b();
  caf::anon_send(a.node, shutdown_atom::value);
  auto down = b.events->next<connection_down>();
  CAF_REQUIRE(down);
  CAF_CHECK_EQUAL(down->reason, ec::shutting_down);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(log lines name the node and the peer and honour the level) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto lines = std::make_shared<std::vector<std::string>>();
  auto mtx = std::make_shared<std::mutex>();
  node_config with_log;
  with_log.log = log_level::info;
  with_log.log_sink = [lines, mtx](log_level, const std::string& line) {
    std::lock_guard<std::mutex> guard{*mtx};
    lines->push_back(line);
  };
  test_node a, b;
  a.start(sys, with_log);
  b.start(sys, node_config{});
  caf::anon_send(a.node, crust::connect{b.listen_ep});
  CAF_REQUIRE(a.events->next<connection_up>());
  caf::anon_send(a.node, drop{b.id.id()});
  CAF_REQUIRE(a.events->next<connection_down>());
  a.stop();
  b.stop();
  std::lock_guard<std::mutex> guard{*mtx};
  auto tag = "node=" + short_string(a.id.id()) + " peer=" + short_string(b.id.id());
  auto has = [&](const std::string& what) {
    for (auto& line : *lines)
      if (line.find(tag) != std::string::npos && line.find(what) != std::string::npos)
        return true;
    return false;
  };
  CAF_CHECK(has("INFO  "));
  CAF_CHECK(has("connection up: outbound tcp"));
  CAF_CHECK(has("connection down: dropped"));
  for (auto& line : *lines)
    CAF_CHECK(line.find("DEBUG") == std::string::npos); // below the level
}

/// Runs `body(a, b, target)` once over TCP and once over reliable UDP: two
/// fresh nodes in a fresh actor system, configured by `configure(ca, cb)`,
/// `a` connected to `b` at `target` (b's endpoint of that transport). Both
/// nodes stop afterwards.
template <class Configure, class Body>
void over_both_transports(Configure configure, Body body, bool batches = false) {
  for (auto mode : {node_config::transport_mode::tcp_only, node_config::transport_mode::udp_only}) {
    bool udp = mode == node_config::transport_mode::udp_only;
    CAF_MESSAGE((udp ? "reliable UDP" : "TCP"));
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    test_node a, b;
    node_config ca, cb;
    ca.transport = mode;
    configure(ca, cb);
    a.start(sys, ca);
    b.start(sys, cb, batches);
    auto target = b.listen_ep;
    if (udp)
      target.proto = protocol::udp;
    caf::anon_send(a.node, crust::connect{target});
    CAF_REQUIRE(a.events->next<connection_up>() && b.events->next<connection_up>());
    body(a, b, target, cb);
    a.stop();
    b.stop();
  }
}

/// A node over its per-address rate refuses before any cryptography and
/// says so: the dialer reports `rate_limited` with a retry-after (not a
/// failed handshake), and the refusing node raises no alert about an
/// address whose dialers stay within what honest ones do. Over TCP and
/// reliable UDP (a refused INITIAL gets an ABORT).
CAF_TEST(a refusal before the handshake reaches the dialer with its retry after) {
  auto configure = [](node_config&, node_config& cb) {
    cb.limits.connection_rate = 0.5; // one per two seconds
    cb.limits.connection_burst = 1;
  };
  over_both_transports(configure, [](test_node& a, test_node& b, const endpoint& target,
                                     const node_config&) {
    caf::anon_send(a.node, crust::drop{b.id.id()});
    CAF_REQUIRE(a.events->next<connection_down>());
    auto started = std::chrono::steady_clock::now();
    caf::anon_send(a.node, crust::connect{target});
    auto failed = a.events->next<connect_failed>(3s);
    CAF_REQUIRE(failed);
    CAF_CHECK_EQUAL(failed->reason, ec::rate_limited);
    CAF_MESSAGE("retry after " << failed->retry_after_ms << " ms, told in "
                << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started).count() << " ms");
    CAF_CHECK_GREATER_OR_EQUAL(failed->retry_after_ms, 1000u);
    CAF_CHECK_LESS_OR_EQUAL(failed->retry_after_ms, 2000u);
    CAF_CHECK_LESS(std::chrono::steady_clock::now() - started, 1s); // not a timeout
    CAF_CHECK(!b.events->next<alert>(300ms));
    CAF_CHECK(!b.events->next<connection_up>(10ms));
    // Back after the retry-after, it gets in.
    std::this_thread::sleep_for(std::chrono::milliseconds(failed->retry_after_ms));
    caf::anon_send(a.node, crust::connect{target});
    CAF_CHECK(a.events->next<connection_up>(3s));
  });
}

/// A routing layer that holds on to what it gets (here: the test's queue,
/// which nobody empties for a while) makes crust stop reading from that peer
/// once `receive_queue` bytes are unprocessed — within a batch of it, when
/// it takes batches; the sender's queue then fills. When the routing layer
/// lets go, the rest arrives, in order, none lost. Over TCP and reliable UDP.
void check_receive_budget(bool batches) {
  auto configure = [](node_config& ca, node_config& cb) {
    ca.send_queue_limit = 4 * 1024 * 1024;
    cb.limits.receive_queue = 1024 * 1024;
  };
  over_both_transports(configure, [batches](test_node& a, test_node& b, const endpoint&,
                                            const node_config& cb) {
    // 24 MiB in 64 KiB messages, far more than the receiver takes and the
    // sender queues.
    constexpr size_t n = 384;
    constexpr size_t size = 64 * 1024;
    for (size_t i = 0; i < n; ++i) {
      bytes m(size, 0);
      m[0] = static_cast<uint8_t>(i >> 8);
      m[1] = static_cast<uint8_t>(i);
      caf::anon_send(a.node, crust::send{b.id.id(), std::move(m), 2});
    }
    std::this_thread::sleep_for(1500ms);
    auto held = b.events->sum_held<message>([](const message& x) { return x.payload.size(); })
                + b.events->sum_held<message_batch>([](const message_batch& x) {
                    size_t bytes = 0;
                    for (auto& p : x.payloads)
                      bytes += p.size();
                    return bytes;
                  });
    CAF_MESSAGE("receiver holds " << held << " bytes unprocessed");
    CAF_CHECK_GREATER_OR_EQUAL(held, cb.limits.receive_queue);
    CAF_CHECK_LESS_OR_EQUAL(held, cb.limits.receive_queue + (batches ? max_batch_bytes : 0) + size);
    size_t failed = 0;
    while (auto f = a.events->next<send_failed>(100ms)) {
      CAF_CHECK_EQUAL(f->reason, ec::send_queue_full);
      ++failed;
    }
    CAF_MESSAGE(failed << " sends came back: send_queue_full");
    CAF_CHECK_GREATER(failed, 0u);
    // The routing layer catches up: everything that was queued arrives.
    std::vector<bytes> got;
    if (batches) {
      std::vector<size_t> sizes;
      got = b.events->batched(n - failed, a.id.id(), sizes, 30000ms);
      CAF_CHECK_EQUAL(b.events->held<message>(), 0u);
    } else {
      got = b.events->payloads(n - failed, 30000ms);
      CAF_CHECK_EQUAL(b.events->held<message_batch>(), 0u);
    }
    CAF_CHECK_EQUAL(got.size(), n - failed);
    bool ordered = true;
    size_t last = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      size_t index = size_t{got[i][0]} << 8 | got[i][1];
      if (got[i].size() != size || (i > 0 && index <= last))
        ordered = false;
      last = index;
    }
    CAF_CHECK(ordered);
    got.clear();
  }, batches);
}

CAF_TEST(a routing layer that falls behind stops the peer instead of growing memory) {
  check_receive_budget(false);
}

// A routing layer spawned with spawn_batching_node gets each peer's messages
// as message_batches: all of them, once, in order, several to a batch when
// they come in a burst; a plain routing layer on the other end still gets
// single messages.
CAF_TEST(a batching routing layer gets every message once and in order in batches) {
  caf::actor_system_config cfg;
  caf::actor_system sys{tuned(cfg)};
  test_node a, b;
  a.start(sys, node_config{});
  b.start(sys, node_config{}, true);
  caf::anon_send(a.node, crust::connect{b.listen_ep});
  CAF_REQUIRE(a.events->next<connection_up>() && b.events->next<connection_up>());
  constexpr size_t n = 10000;
  for (size_t i = 0; i < n; ++i)
    caf::anon_send(a.node, crust::send{b.id.id(), text("m" + std::to_string(i)), 0});
  std::vector<size_t> sizes;
  check_numbered(b.events->batched(n, a.id.id(), sizes, 30000ms), n);
  CAF_CHECK(!b.events->next<message_batch>(200ms)); // and nothing more
  CAF_CHECK_EQUAL(b.events->held<message>(), 0u);   // never one by one
  CAF_MESSAGE(n << " messages came in " << sizes.size() << " batches");
  CAF_CHECK_LESS(sizes.size(), n);
  CAF_CHECK_LESS_OR_EQUAL(*std::max_element(sizes.begin(), sizes.end()), max_batch_messages);
  caf::anon_send(b.node, crust::send{a.id.id(), text("back"), 0});
  auto back = a.events->next<message>();
  CAF_REQUIRE(back);
  CAF_CHECK(back->payload == text("back"));
  a.stop();
  b.stop();
}

CAF_TEST(a batching routing layer that holds its batches stops the peer) {
  check_receive_budget(true);
}
