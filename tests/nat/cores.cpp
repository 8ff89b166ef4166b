// nat/'s sans-I/O cores: NAT classification, STUN transactions, the
// traversal plan, the rendezvous and relay codecs (round trips and bad
// input), and the relay's circuit table with its limits.
#define CAF_SUITE nat.cores
#include <caf/test/unit_test.hpp>

#include "nat/birthday.hpp"
#include "nat/nat_classifier.hpp"
#include "nat/observed_addresses.hpp"
#include "nat/punch_plan.hpp"
#include "nat/relay_codec.hpp"
#include "nat/relay_table.hpp"
#include "nat/reachability_codec.hpp"
#include "nat/reachability_record.hpp"
#include "nat/rendezvous_codec.hpp"
#include "nat/stun_message.hpp"
#include "nat/stun_transaction.hpp"
#include "transport/address.hpp"

#include <algorithm>
#include <set>

using namespace crust;
using namespace std::chrono_literals;

namespace {

endpoint udp(const char* addr, uint16_t port) {
  return endpoint{protocol::udp, addr, port};
}

endpoint tcp(const char* addr, uint16_t port) {
  return endpoint{protocol::tcp, addr, port};
}

peer_id pid(uint8_t x) {
  peer_id p;
  p.key.fill(x);
  return p;
}

} // namespace

CAF_TEST(classifier tells no nat from cone from symmetric) {
  nat_classifier c;
  c.set_local({"10.0.0.2", "127.0.0.1"}, 4000);
  CAF_CHECK(c.classify() == nat_class::unknown);
  CAF_CHECK(!c.external());
  // One server: behind a NAT, but which kind cannot be told.
  c.on_mapping(udp("198.51.100.1", 3478), udp("203.0.113.9", 4000));
  CAF_CHECK(c.classify() == nat_class::unknown);
  CAF_CHECK_EQUAL(to_string(*c.external()), "udp://203.0.113.9:4000");
  // A second server at another address sees the same mapping: cone.
  c.on_mapping(udp("198.51.100.2", 3478), udp("203.0.113.9", 4000));
  CAF_CHECK(c.classify() == nat_class::endpoint_independent);
  CAF_CHECK_EQUAL(c.mapped().size(), 1u);
  // ... or a different one: symmetric, and no single external endpoint.
  c.on_mapping(udp("198.51.100.2", 3478), udp("203.0.113.9", 4711));
  CAF_CHECK(c.classify() == nat_class::endpoint_dependent);
  CAF_CHECK(!c.external());
  CAF_CHECK_EQUAL(c.mapped().size(), 2u);
  // Our own address and port: no NAT at all.
  nat_classifier pub;
  pub.set_local({"203.0.113.50"}, 5000);
  pub.on_mapping(udp("198.51.100.1", 3478), udp("203.0.113.50", 5000));
  CAF_CHECK(pub.classify() == nat_class::none);
}

CAF_TEST(stun transaction retransmits with doubling waits then fails) {
  auto t0 = stun_transaction::clock::time_point{} + 1h;
  stun_transaction t{udp("198.51.100.1", 3478), t0, 100ms, 3};
  CAF_CHECK(t.poll(t0));          // first send now
  CAF_CHECK(!t.poll(t0 + 99ms));  // not yet
  CAF_CHECK(t.poll(t0 + 100ms));  // after rto
  CAF_CHECK(!t.poll(t0 + 299ms)); // 2 rto later
  CAF_CHECK(t.poll(t0 + 300ms));
  CAF_CHECK(!t.poll(t0 + 699ms));
  CAF_CHECK(!t.poll(t0 + 700ms)); // three sent: the last wait ends it
  CAF_CHECK(t.current() == stun_transaction::state::failed);
  CAF_CHECK(!t.deadline());
}

CAF_TEST(stun transaction takes only its own response) {
  auto t0 = stun_transaction::clock::time_point{} + 1h;
  stun_transaction t{udp("198.51.100.1", 3478), t0};
  stun::message req;
  CAF_REQUIRE_EQUAL(stun::parse(t.request(), req), ec::none);
  CAF_CHECK(req.cls == stun::msg_class::request);
  stun::message other;
  auto wrong = stun::build_binding_response(stun::random_transaction_id(),
                                            udp("203.0.113.9", 1));
  CAF_REQUIRE_EQUAL(stun::parse(wrong, other), ec::none);
  CAF_CHECK(!t.on_message(other));
  stun::message right;
  CAF_REQUIRE_EQUAL(stun::parse(stun::build_binding_response(t.tid(), udp("203.0.113.9", 7)),
                                right),
                    ec::none);
  CAF_CHECK(t.on_message(right));
  CAF_CHECK(t.current() == stun_transaction::state::done);
  CAF_CHECK_EQUAL(to_string(*t.mapped()), "udp://203.0.113.9:7");
  // An error response fails a transaction.
  stun_transaction e{udp("198.51.100.1", 3478), t0};
  stun::message err;
  CAF_REQUIRE_EQUAL(stun::parse(stun::build_error_response(e.tid(), 400, "Bad Request"), err),
                    ec::none);
  CAF_CHECK(e.on_message(err));
  CAF_CHECK(e.current() == stun_transaction::state::failed);
  CAF_CHECK_EQUAL(e.failure(), "error 400 Bad Request");
}

CAF_TEST(traversal plan) {
  connection_info ours{pid(1), {tcp("10.0.0.2", 1), udp("10.0.0.2", 1)},
                       {udp("203.0.113.1", 1)}, nat_class::endpoint_independent};
  // A public peer: its TCP endpoint, directly.
  connection_info pub{pid(2), {tcp("203.0.113.2", 2), udp("203.0.113.2", 2)},
                      {udp("203.0.113.2", 2)}, nat_class::none};
  auto p = plan_traversal(ours, pub);
  CAF_REQUIRE_EQUAL(p.dials.size(), 1u);
  CAF_CHECK_EQUAL(to_string(p.dials[0].remote), "tcp://203.0.113.2:2");
  CAF_CHECK(p.dials[0].path == path_kind::direct);
  // A cone peer: punch and dial its mapped endpoint, and its own address.
  connection_info cone{pid(3), {tcp("10.1.0.2", 3), udp("10.1.0.2", 3)},
                       {udp("203.0.113.3", 3)}, nat_class::endpoint_independent};
  p = plan_traversal(ours, cone);
  CAF_REQUIRE_EQUAL(p.dials.size(), 3u);
  CAF_CHECK_EQUAL(to_string(p.dials[0].remote), "udp://203.0.113.3:3");
  CAF_CHECK(p.dials[0].path == path_kind::punched_udp);
  // ... and, in parallel, TCP simultaneous open towards its listening port
  // as its NAT maps it (it kept the UDP port, so it keeps ports).
  CAF_CHECK_EQUAL(to_string(p.dials[1].remote), "tcp://203.0.113.3:3");
  CAF_CHECK(p.dials[1].path == path_kind::punched_tcp);
  CAF_CHECK(p.dials[2].path == path_kind::direct);
  CAF_CHECK_EQUAL(p.punch.size(), 2u);
  CAF_CHECK(!punching_hopeless(ours, cone));
  CAF_CHECK_EQUAL(to_string(*predicted_tcp_mapping(cone)), "tcp://203.0.113.3:3");
  // A NAT that moved the port: nothing to predict, no TCP punch.
  connection_info moved = cone;
  moved.external = {udp("203.0.113.3", 40001)};
  CAF_CHECK(!predicted_tcp_mapping(moved));
  p = plan_traversal(ours, moved);
  for (auto& d : p.dials)
    CAF_CHECK(d.path != path_kind::punched_tcp);
  // A symmetric peer that reported no mapping (an older node): nothing to
  // probe for, so punching cannot work.
  connection_info sym{pid(4), {udp("10.2.0.2", 4)}, {}, nat_class::endpoint_dependent};
  // Our SYNs leave a symmetric NAT from a port the peer cannot know.
  p = plan_traversal(sym, cone);
  for (auto& d : p.dials)
    CAF_CHECK(d.path != path_kind::punched_tcp);
  CAF_CHECK(!predicted_tcp_mapping(sym));
  CAF_CHECK(punching_hopeless(ours, sym));
  CAF_CHECK(punching_hopeless(sym, cone));
  CAF_CHECK(!punching_hopeless(sym, pub));
  CAF_CHECK(relay_at_once(ours, sym));
  // A port the cone side's gateway forwards (UPnP) is dialled first, and
  // makes a relay unnecessary.
  cone.external.insert(cone.external.begin(), tcp("203.0.113.3", 3));
  CAF_CHECK(!punching_hopeless(sym, cone));
  p = plan_traversal(sym, cone);
  CAF_REQUIRE(!p.dials.empty());
  CAF_CHECK_EQUAL(to_string(p.dials[0].remote), "tcp://203.0.113.3:3");
  CAF_CHECK(p.dials[0].path == path_kind::upnp);
  CAF_CHECK_EQUAL(p.dials.size(), 1u); // alone: no race against punched paths
}

CAF_TEST(a host without udp guesses its tcp mapping for simultaneous open) {
  // UDP blocked, STUN unanswered: class unknown; peers saw its TCP links
  // come from 203.0.113.8, so it lists its listening port there.
  connection_info blocked{pid(1), {tcp("10.0.0.2", 4000), udp("10.0.0.2", 4001)},
                          {tcp("203.0.113.8", 4000)}, nat_class::unknown};
  CAF_CHECK_EQUAL(to_string(*tcp_mapping_guess(blocked)), "tcp://203.0.113.8:4000");
  CAF_CHECK_EQUAL(to_string(*predicted_tcp_mapping(blocked)), "tcp://203.0.113.8:4000");
  // Another port, or a known class: a port its gateway forwards, no guess.
  connection_info fwd = blocked;
  fwd.external = {tcp("203.0.113.8", 50000)};
  CAF_CHECK(!tcp_mapping_guess(fwd));
  connection_info known = blocked;
  known.nat = nat_class::endpoint_independent;
  CAF_CHECK(!tcp_mapping_guess(known));
  // Against a cone: each dials the other's mapping of its listening port
  // from its own (no plain dial of the guess as if it were forwarded).
  connection_info cone{pid(3), {tcp("10.1.0.2", 3), udp("10.1.0.2", 3)},
                       {udp("203.0.113.3", 3)}, nat_class::endpoint_independent};
  auto tcp_dials = [](const punch_plan& p) {
    std::vector<std::string> out;
    for (auto& d : p.dials)
      if (d.remote.proto == protocol::tcp)
        out.push_back(to_string(d.remote) + " " + to_string(d.path));
    return out;
  };
  CAF_CHECK_EQUAL(tcp_dials(plan_traversal(cone, blocked)),
                  std::vector<std::string>{"tcp://203.0.113.8:4000 punched_tcp"});
  CAF_CHECK_EQUAL(tcp_dials(plan_traversal(blocked, cone)),
                  std::vector<std::string>{"tcp://203.0.113.3:3 punched_tcp"});
  CAF_CHECK(!punching_hopeless(blocked, cone));
  CAF_CHECK(!relay_at_once(blocked, cone));
  // Two of them: both dial.
  connection_info other{pid(4), {tcp("10.4.0.2", 5000), udp("10.4.0.2", 5001)},
                        {tcp("203.0.113.9", 5000)}, nat_class::unknown};
  CAF_CHECK_EQUAL(tcp_dials(plan_traversal(blocked, other)),
                  std::vector<std::string>{"tcp://203.0.113.9:5000 punched_tcp"});
  // Without the guess it knows nothing to aim at, and the cone's SYNs would
  // meet a NAT nobody opened: no TCP punch either way, as before.
  connection_info unknown = blocked;
  unknown.external.clear();
  CAF_CHECK(tcp_dials(plan_traversal(unknown, cone)).empty());
  CAF_CHECK(tcp_dials(plan_traversal(cone, unknown)).empty());
  // Against a symmetric NAT the guess changes nothing: hopeless, a relay at once.
  connection_info sym{pid(5), {udp("10.2.0.2", 4)},
                      {udp("203.0.113.5", 1000), udp("203.0.113.5", 31000)},
                      nat_class::endpoint_dependent};
  CAF_CHECK(punching_hopeless(sym, blocked));
  CAF_CHECK(relay_at_once(blocked, sym));
  CAF_CHECK(tcp_dials(plan_traversal(sym, blocked)).empty());
}

CAF_TEST(port allocation is judged from the mappings of a symmetric peer) {
  connection_info seq{pid(4), {udp("10.2.0.2", 4)},
                      {udp("203.0.113.4", 40000), udp("203.0.113.4", 40001)},
                      nat_class::endpoint_dependent};
  CAF_CHECK_EQUAL(dependent_mappings(seq).size(), 2u);
  CAF_CHECK(guess_allocation(seq) == port_allocation::sequential);
  auto next = predicted_ports(seq, 3);
  CAF_CHECK_EQUAL(next, (std::vector<uint16_t>{40002, 40003, 40004}));
  // Ports wrap within 1024-65535.
  seq.external = {udp("203.0.113.4", 65534), udp("203.0.113.4", 65535)};
  CAF_CHECK_EQUAL(predicted_ports(seq, 2), (std::vector<uint16_t>{1024, 1025}));
  connection_info rnd = seq;
  rnd.external = {udp("203.0.113.4", 40000), udp("203.0.113.4", 52345)};
  CAF_CHECK(guess_allocation(rnd) == port_allocation::random);
  CAF_CHECK(predicted_ports(rnd, 3).empty());
  // One mapping: the address, but no judgement.
  connection_info one = seq;
  one.external = {udp("203.0.113.4", 40000)};
  CAF_CHECK(guess_allocation(one) == port_allocation::unknown);
  CAF_CHECK_EQUAL(dependent_mappings(one).size(), 1u);
  // Mappings on two addresses: no one address to probe.
  connection_info split = seq;
  split.external = {udp("203.0.113.4", 40000), udp("203.0.113.5", 40001)};
  CAF_CHECK(dependent_mappings(split).empty());
  CAF_CHECK(guess_allocation(split) == port_allocation::unknown);
  // A cone peer's external endpoint is no per-destination mapping.
  connection_info cone{pid(3), {udp("10.1.0.2", 3)}, {udp("203.0.113.3", 3)},
                       nat_class::endpoint_independent};
  CAF_CHECK(dependent_mappings(cone).empty());
}

CAF_TEST(birthday roles pair an easy nat with a hard one) {
  connection_info cone{pid(3), {udp("10.1.0.2", 3)}, {udp("203.0.113.3", 3)},
                       nat_class::endpoint_independent};
  connection_info rnd{pid(4), {udp("10.2.0.2", 4)},
                      {udp("203.0.113.4", 40000), udp("203.0.113.4", 52345)},
                      nat_class::endpoint_dependent};
  connection_info seq = rnd;
  seq.external = {udp("203.0.113.4", 40000), udp("203.0.113.4", 40001)};
  connection_info pub{pid(2), {udp("203.0.113.2", 2)}, {udp("203.0.113.2", 2)},
                      nat_class::none};
  // Both ends compute the mirror image.
  CAF_CHECK(birthday_role(cone, rnd) == probe_role::prober);
  CAF_CHECK(birthday_role(rnd, cone) == probe_role::holder);
  CAF_CHECK(birthday_role(cone, seq) == probe_role::prober);
  // Two hard sides: nothing to probe from; a public side needs no probing.
  CAF_CHECK(birthday_role(rnd, seq) == probe_role::none);
  CAF_CHECK(birthday_role(pub, rnd) == probe_role::none);
  CAF_CHECK(birthday_role(rnd, pub) == probe_role::none);
  // A cone that knows no mapping of its own cannot be found.
  connection_info blind = cone;
  blind.external.clear();
  CAF_CHECK(birthday_role(blind, rnd) == probe_role::none);
  CAF_CHECK(birthday_role(rnd, blind) == probe_role::none);
  // A port the gateway forwards makes probing unnecessary.
  connection_info fwd = cone;
  fwd.external.push_back(tcp("203.0.113.3", 5000));
  CAF_CHECK(birthday_role(fwd, rnd) == probe_role::none);
  // What the traversal does meanwhile: random ports -> relay at once (the
  // upgrade probes); sequential -> punch the predicted ports first; two
  // hard sides -> relay, hopeless.
  CAF_CHECK(!punching_hopeless(cone, rnd) && relay_at_once(cone, rnd));
  CAF_CHECK(!punching_hopeless(rnd, cone) && relay_at_once(rnd, cone));
  CAF_CHECK(!punching_hopeless(cone, seq) && !relay_at_once(cone, seq));
  CAF_CHECK(!punching_hopeless(seq, cone) && !relay_at_once(seq, cone));
  CAF_CHECK(punching_hopeless(rnd, seq) && relay_at_once(rnd, seq));
  CAF_CHECK(punching_hopeless(rnd, rnd));
  // Two sequential allocators: each sends its next mapping to the other's
  // next one, first of all (punch and dial), beside the relay.
  connection_info seq2 = seq;
  seq2.peer = pid(5);
  seq2.local = {udp("10.5.0.2", 5)};
  seq2.external = {udp("203.0.113.5", 30000), udp("203.0.113.5", 30001)};
  CAF_CHECK(!punching_hopeless(seq, seq2) && relay_at_once(seq, seq2));
  CAF_CHECK(birthday_role(seq, seq2) == probe_role::none);
  auto lock = plan_traversal(seq, seq2);
  CAF_REQUIRE(!lock.punch.empty() && !lock.dials.empty());
  CAF_CHECK_EQUAL(to_string(lock.punch.front()), "udp://203.0.113.5:30002");
  CAF_CHECK_EQUAL(to_string(lock.dials.front().remote), "udp://203.0.113.5:30002");
  CAF_CHECK_EQUAL(to_string(plan_traversal(seq2, seq).punch.front()), "udp://203.0.113.4:40002");
  CAF_CHECK(!relay_at_once(cone, cone));
  // Two homes behind one CGNAT (the same external address, different LANs):
  // its hairpin is the only way, if it has one, so the relay follows soon;
  // on one LAN their own addresses are the way.
  connection_info home1{pid(6), {udp("10.41.0.2", 6)}, {udp("203.0.113.40", 6000)},
                        nat_class::endpoint_independent};
  connection_info home2{pid(7), {udp("10.42.0.2", 7)}, {udp("203.0.113.40", 7000)},
                        nat_class::endpoint_independent};
  CAF_CHECK(same_nat_apart(home1, home2) && !relay_at_once(home1, home2));
  CAF_CHECK(!punching_hopeless(home1, home2));
  home2.local = {udp("10.41.0.3", 7)};
  CAF_CHECK(!same_nat_apart(home1, home2));
  // The easy side punches the hard side's address (its mappings and, for a
  // sequential allocator, the next ports) and dials none of them: the hard
  // side dials the easy side's mapping.
  auto p = plan_traversal(cone, seq);
  CAF_CHECK_EQUAL(p.punch.size(), 2u + predicted_window + 1u); // + their LAN address
  for (auto& d : p.dials)
    CAF_CHECK(d.remote.address != "203.0.113.4");
  CAF_CHECK(std::find(p.punch.begin(), p.punch.end(), udp("203.0.113.4", 40002))
            != p.punch.end());
  p = plan_traversal(cone, rnd);
  CAF_CHECK_EQUAL(p.punch.size(), 3u);
  p = plan_traversal(seq, cone);
  CAF_REQUIRE(!p.dials.empty());
  CAF_CHECK_EQUAL(to_string(p.dials[0].remote), "udp://203.0.113.3:3");
}

CAF_TEST(ipv6 candidates get a head start) {
  CAF_CHECK(is_global_ipv6("2001:db8:4::2"));
  CAF_CHECK(is_global_ipv6("2001:DB8::1"));
  CAF_CHECK(!is_global_ipv6("fe80::1"));
  CAF_CHECK(!is_global_ipv6("FEBF::1"));
  CAF_CHECK(!is_global_ipv6("::1"));
  CAF_CHECK(!is_global_ipv6("::ffff:10.0.0.1"));
  CAF_CHECK(!is_global_ipv6("10.0.0.1"));
  // Dual stack on both sides: IPv4 NATs (cone) and global IPv6 addresses.
  connection_info a{pid(1), {udp("10.1.0.2", 1), udp("2001:db8:1::2", 1)},
                    {udp("203.0.113.1", 1)}, nat_class::endpoint_independent};
  connection_info b{pid(2), {udp("10.2.0.2", 2), udp("2001:db8:2::2", 2)},
                    {udp("203.0.113.2", 2)}, nat_class::endpoint_independent};
  auto p = plan_traversal(a, b);
  CAF_REQUIRE_EQUAL(p.dials.size(), 1u);
  CAF_CHECK_EQUAL(to_string(p.dials[0].remote), "udp://[2001:db8:2::2]:2");
  CAF_CHECK_EQUAL(p.later.size(), 2u); // the punched mapping, the LAN address
  // Every candidate is punched at once (it opens our NAT or firewall).
  CAF_CHECK_EQUAL(p.punch.size(), 3u);
  // IPv6 only against IPv4 only: punching is hopeless, the relay at once.
  connection_info v6only{pid(3), {udp("2001:db8:3::2", 3)}, {}, nat_class::unknown};
  connection_info v4only{pid(4), {udp("10.4.0.2", 4)}, {udp("203.0.113.4", 4)},
                         nat_class::endpoint_independent};
  CAF_CHECK(punching_hopeless(v6only, v4only) && relay_at_once(v4only, v6only));
  CAF_CHECK(!punching_hopeless(v6only, b));
  // Only one side with IPv6: nothing waits.
  a.local.pop_back();
  p = plan_traversal(a, b);
  CAF_CHECK(p.later.empty());
  CAF_CHECK_EQUAL(p.dials.size(), 3u);
}

CAF_TEST(birthday probes keep to their budget) {
  using clock = pacer::clock;
  auto t0 = clock::time_point{} + 1h;
  pacer pace{10, 100, t0};
  CAF_CHECK_EQUAL(pace.take(t0 - 1s), 1u); // before the start: one
  CAF_CHECK_EQUAL(pace.take(t0), 0u);
  CAF_CHECK_EQUAL(pace.take(t0 + 50ms), 5u); // 1 + 100/s x 50 ms = 6 in all
  CAF_CHECK_EQUAL(pace.take(t0 + 50ms), 0u);
  CAF_CHECK_EQUAL(pace.take(t0 + 10s), 4u); // never beyond the total
  CAF_CHECK(pace.done());
  CAF_CHECK(pace.finish() == t0 + 90ms);
  // Ports: the predicted ones first, then random ones, none twice, none
  // below 1024, at most the budget, at its pace.
  probe_budget b;
  b.probes = 1000;
  b.probes_per_second = 500;
  port_probe probe{{40002, 40003, 40002, 80}, b, 42, t0};
  auto first = probe.due(t0 + 10ms); // 1 + 5
  CAF_REQUIRE_EQUAL(first.size(), 6u);
  CAF_CHECK_EQUAL(first[0], 40002);
  CAF_CHECK_EQUAL(first[1], 40003);
  std::set<uint16_t> seen(first.begin(), first.end());
  size_t total = first.size();
  for (int ms = 20; ms <= 3000; ms += 20) {
    auto now = t0 + std::chrono::milliseconds(ms);
    auto ports = probe.due(now);
    total += ports.size();
    CAF_CHECK_LESS_OR_EQUAL(total, 1u + 500u * ms / 1000u);
    for (auto port : ports) {
      CAF_CHECK_GREATER_OR_EQUAL(port, 1024);
      CAF_CHECK(seen.insert(port).second);
    }
  }
  CAF_CHECK_EQUAL(total, 1000u);
  CAF_CHECK(probe.exhausted());
  CAF_CHECK(probe.due(t0 + 1h).empty());
  // The same seed, the same ports (the tests' determinism); another seed,
  // others.
  port_probe again{{}, b, 42, t0}, other{{}, b, 43, t0};
  CAF_CHECK_EQUAL(again.due(t0 + 1s), (port_probe{{}, b, 42, t0}.due(t0 + 1s)));
  CAF_CHECK_NOT_EQUAL(again.due(t0 + 2s), other.due(t0 + 2s));
  // A budget larger than the port range stops at the range.
  b.probes = 100000;
  b.probes_per_second = 100000000;
  port_probe all{{}, b, 7, t0};
  CAF_CHECK_EQUAL(all.due(t0 + 1s).size(), 64512u);
  CAF_CHECK(all.exhausted());
}

CAF_TEST(reachability messages round trip and bad input is refused) {
  reachability_msg m;
  m.type = reachability_msg::kind::check;
  m.nonce = 0x1122334455667788;
  m.endpoints = {tcp("203.0.113.1", 5000), udp("203.0.113.1", 5000), udp("2001:db8::1", 9)};
  auto b = encode(m);
  reachability_msg r;
  CAF_REQUIRE_EQUAL(decode(b, r), ec::none);
  CAF_CHECK(r.type == m.type && r.nonce == m.nonce && r.endpoints == m.endpoints);
  reachability_msg res;
  res.type = reachability_msg::kind::result;
  res.nonce = 3;
  res.results = {{tcp("203.0.113.1", 5000), reach_status::reachable},
                 {udp("10.0.0.2", 5000), reach_status::refused}};
  auto rb = encode(res);
  CAF_REQUIRE_EQUAL(decode(rb, r), ec::none);
  CAF_REQUIRE_EQUAL(r.results.size(), 2u);
  CAF_CHECK(r.results[0].second == reach_status::reachable);
  CAF_CHECK(r.results[1].second == reach_status::refused);
  for (size_t n = 0; n < rb.size(); ++n)
    CAF_CHECK(decode(bytes(rb.begin(), rb.begin() + static_cast<long>(n)), r) != ec::none);
  auto bad = rb;
  bad[0] = 3;
  CAF_CHECK_EQUAL(decode(bad, r), ec::unknown_frame_kind);
  bad = rb;
  bad.back() = 9; // status
  CAF_CHECK_EQUAL(decode(bad, r), ec::malformed_frame);
  bad = b;
  bad[9] = 9; // count over the limit
  CAF_CHECK_EQUAL(decode(bad, r), ec::malformed_frame);
  bad = b;
  bad.push_back(0); // trailing byte
  CAF_CHECK_EQUAL(decode(bad, r), ec::malformed_frame);
  // The record: a peer's latest word counts; refused is no evidence.
  reachability_record rec;
  peer_id p1 = pid(1), p2 = pid(2);
  auto ep = tcp("203.0.113.1", 5000);
  rec.on_result(p1, ep, reach_status::refused);
  CAF_CHECK(rec.reachable().empty() && rec.unreachable().empty());
  rec.on_result(p1, ep, reach_status::unreachable);
  CAF_CHECK(rec.is_unreachable(ep));
  rec.on_result(p2, ep, reach_status::reachable);
  CAF_CHECK(!rec.is_unreachable(ep));
  CAF_CHECK_EQUAL(rec.reachable().size(), 1u);
}

CAF_TEST(rendezvous messages round trip and bad input is refused) {
  rendezvous_msg m;
  m.type = rendezvous_msg::kind::introduce;
  m.stage = 1;
  m.nonce = 0x0102030405060708;
  m.peer = pid(7);
  m.info.nat = nat_class::endpoint_independent;
  m.info.local = {tcp("10.0.0.2", 1), udp("10.0.0.2", 1)};
  m.info.external = {udp("203.0.113.1", 40000), udp("2001:db8::1", 9)};
  auto b = encode(m);
  rendezvous_msg r;
  CAF_REQUIRE_EQUAL(decode(b, r), ec::none);
  CAF_CHECK(r.type == m.type && r.stage == 1 && r.nonce == m.nonce && r.peer == m.peer);
  CAF_CHECK(r.info.nat == nat_class::endpoint_independent);
  CAF_CHECK(r.info.local == m.info.local);
  CAF_CHECK(r.info.external == m.info.external);
  rendezvous_msg u;
  u.type = rendezvous_msg::kind::unreachable;
  u.peer = pid(8);
  u.reason = ec::not_connected;
  CAF_REQUIRE_EQUAL(decode(encode(u), r), ec::none);
  CAF_CHECK(r.reason == ec::not_connected);
  for (size_t n = 0; n < b.size(); ++n)
    CAF_CHECK(decode(bytes(b.begin(), b.begin() + static_cast<long>(n)), r) != ec::none);
  auto bad = b;
  bad[0] = 9;
  CAF_CHECK_EQUAL(decode(bad, r), ec::unknown_frame_kind);
  bad = b;
  bad[1] = 2; // stage
  CAF_CHECK_EQUAL(decode(bad, r), ec::malformed_frame);
  bad = b;
  bad.push_back(0); // trailing
  CAF_CHECK_EQUAL(decode(bad, r), ec::malformed_frame);
  bad = b;
  bad[1 + 1 + 8 + 32] = 9; // nat class
  CAF_CHECK_EQUAL(decode(bad, r), ec::malformed_frame);
  bad = b;
  bad[1 + 1 + 8 + 32 + 1] = 200; // endpoint count
  CAF_CHECK_EQUAL(decode(bad, r), ec::malformed_frame);
  // More than the cap is cut when encoding.
  m.info.external.assign(20, udp("203.0.113.1", 1));
  CAF_REQUIRE_EQUAL(decode(encode(m), r), ec::none);
  CAF_CHECK_EQUAL(r.info.external.size(), max_info_endpoints);
}

CAF_TEST(relay messages round trip and bad input is refused) {
  using k = relay_msg::kind;
  for (auto type : {k::open, k::data, k::ack, k::close, k::incoming, k::opened, k::data_out,
                    k::ack_out, k::close_out}) {
    relay_msg m;
    m.type = type;
    m.circuit = 0xfeedface12345678;
    m.peer = pid(3);
    m.data = bytes(100, 0xab);
    m.n = 0x01020304;
    m.reason = ec::too_many_connections;
    relay_msg r;
    CAF_REQUIRE_EQUAL(decode(encode(m), r), ec::none);
    CAF_CHECK(r.type == type && r.circuit == m.circuit);
    if (type == k::open || type == k::incoming)
      CAF_CHECK(r.peer == m.peer);
    if (type == k::data || type == k::data_out)
      CAF_CHECK(r.data == m.data);
    if (type == k::ack || type == k::ack_out)
      CAF_CHECK_EQUAL(r.n, m.n);
    if (type == k::close || type == k::close_out)
      CAF_CHECK(r.reason == ec::too_many_connections);
    CAF_CHECK_EQUAL(r.to_relay(), static_cast<uint8_t>(type) < 0x10);
  }
  relay_msg r;
  CAF_CHECK_EQUAL(decode(bytes{0x02, 0, 0, 0}, r), ec::truncated_frame);
  CAF_CHECK_EQUAL(decode(bytes{0x07, 0, 0, 0, 0, 0, 0, 0, 0}, r), ec::unknown_frame_kind);
  bytes empty_data{0x02, 0, 0, 0, 0, 0, 0, 0, 1};
  CAF_CHECK_EQUAL(decode(empty_data, r), ec::truncated_frame);
  bytes big{0x02, 0, 0, 0, 0, 0, 0, 0, 1};
  big.resize(big.size() + max_relay_chunk + 1, 0);
  CAF_CHECK_EQUAL(decode(big, r), ec::malformed_frame);
  bytes opened_trailing{0x12, 0, 0, 0, 0, 0, 0, 0, 1, 0};
  CAF_CHECK_EQUAL(decode(opened_trailing, r), ec::malformed_frame);
}

CAF_TEST(relay table holds each end to its window) {
  relay_table t;
  auto now = relay_table::clock::time_point{} + 1h;
  auto a = pid(1), b = pid(2);
  CAF_REQUIRE(t.open(a, 11, b, 77, now).first);
  auto why = ec::none;
  // A full window each way is fine.
  CAF_CHECK(t.route(a, 11, relay_window, why) && why == ec::none);
  CAF_CHECK(t.route(b, 77, relay_window, why) && why == ec::none);
  // An ACK from b returns window to a (and goes to a), not to b.
  auto to = t.ack(b, 77, 1000);
  CAF_REQUIRE(to);
  CAF_CHECK(to->peer == a && to->circuit == 11);
  CAF_CHECK(t.route(a, 11, 1000, why) && why == ec::none);
  CAF_CHECK(!t.ack(pid(3), 77, 1)); // not pid(3)'s circuit
  // An ACK for more than was sent returns no more than was sent.
  CAF_CHECK(t.ack(a, 11, 10 * relay_window));
  CAF_CHECK(t.route(b, 77, relay_window, why) && why == ec::none);
  // One byte past the window: the circuit ends, and the caller is told why.
  auto last = t.route(a, 11, 1, why);
  CAF_CHECK(last && last->peer == b);
  CAF_CHECK_EQUAL(why, ec::send_queue_full);
  CAF_CHECK_EQUAL(t.size(), 0u);
  CAF_CHECK(!t.ack(b, 77, 1));
}

CAF_TEST(relay table joins circuits within its limits) {
  relay_limits lim;
  lim.max_circuits = 3;
  lim.circuits_per_peer = 2;
  lim.max_bytes = 1000;
  lim.max_duration = 10s;
  relay_table t{lim};
  auto now = relay_table::clock::time_point{} + 1h;
  auto a = pid(1), b = pid(2), c = pid(3);
  auto [to, err] = t.open(a, 11, b, 77, now);
  CAF_REQUIRE(to);
  CAF_CHECK(to->peer == b && to->circuit == 77);
  // Reused ids and circuits to oneself are refused.
  CAF_CHECK(t.open(a, 11, c, 78, now).second == ec::invalid_argument);
  CAF_CHECK(t.open(a, 12, a, 79, now).second == ec::invalid_argument);
  auto why = ec::none;
  auto fwd = t.route(a, 11, 600, why);
  CAF_REQUIRE(fwd);
  CAF_CHECK(fwd->peer == b && fwd->circuit == 77 && why == ec::none);
  auto back = t.route(b, 77, 100, why);
  CAF_REQUIRE(back);
  CAF_CHECK(back->peer == a && back->circuit == 11);
  CAF_CHECK(!t.route(c, 11, 1, why)); // not c's circuit
  // The byte limit ends the circuit.
  fwd = t.route(a, 11, 400, why);
  CAF_CHECK(fwd && why == ec::message_too_large);
  CAF_CHECK_EQUAL(t.size(), 0u);
  // Per-peer and total limits.
  CAF_CHECK(t.open(a, 1, b, 101, now).first);
  CAF_CHECK(t.open(a, 2, c, 102, now).first);
  CAF_CHECK(t.open(a, 3, c, 103, now).second == ec::too_many_connections);
  CAF_CHECK(t.open(b, 4, c, 104, now).first);
  CAF_CHECK(t.open(pid(5), 5, pid(6), 105, now).second == ec::too_many_connections);
  // A peer that goes takes its circuits along; the other ends are told.
  auto gone = t.drop_peer(a);
  CAF_CHECK_EQUAL(gone.size(), 2u);
  CAF_CHECK_EQUAL(t.size(), 1u);
  // Old circuits expire; both ends are told.
  CAF_CHECK(t.expire(now + 5s).empty());
  CAF_CHECK_EQUAL(t.expire(now + 11s).size(), 2u);
  CAF_CHECK_EQUAL(t.size(), 0u);
  auto closed = t.close(b, 4);
  CAF_CHECK(!closed);
  CAF_CHECK_EQUAL(t.total_circuits(), 4u);
}

CAF_TEST(observed addresses count only when peers agree) {
  observed_addresses o; // quorum 2
  o.add(pid(1), "198.51.100.1", udp("203.0.113.7", 4000));
  CAF_CHECK(!o.trusted_address());
  CAF_CHECK(o.classify({"10.0.0.2"}, 4000) == nat_class::unknown);
  // A second peer agrees: trusted, and the same port from two places: cone.
  o.add(pid(2), "198.51.100.2", udp("203.0.113.7", 4000));
  CAF_CHECK_EQUAL(o.trusted_address().value_or(""), "203.0.113.7");
  CAF_CHECK_EQUAL(to_string(*o.trusted_udp()), "udp://203.0.113.7:4000");
  CAF_CHECK(o.classify({"10.0.0.2"}, 4000) == nat_class::endpoint_independent);
  // Our own address and port: no NAT.
  CAF_CHECK(o.classify({"203.0.113.7"}, 4000) == nat_class::none);
  // A third sees another port: the mapping depends on the destination.
  o.add(pid(3), "198.51.100.3", udp("203.0.113.7", 4711));
  CAF_CHECK(o.classify({"10.0.0.2"}, 4000) == nat_class::endpoint_dependent);
  // One liar cannot move the consensus; a peer that leaves takes its vote.
  observed_addresses p;
  p.add(pid(1), "198.51.100.1", tcp("203.0.113.7", 1));
  p.add(pid(2), "198.51.100.2", tcp("192.0.2.66", 2));
  CAF_CHECK(!p.trusted_address());
  p.add(pid(3), "198.51.100.3", tcp("203.0.113.7", 3));
  CAF_CHECK_EQUAL(p.trusted_address().value_or(""), "203.0.113.7");
  CAF_CHECK(!p.trusted_udp()); // TCP source ports say nothing of the UDP socket
  p.remove(pid(3));
  CAF_CHECK(!p.trusted_address());
  p.add(pid(4), "198.51.100.4", endpoint{}); // "did not say" is no vote
  CAF_CHECK_EQUAL(p.size(), 2u);
}

CAF_TEST(the address tcp links come from) {
  observed_addresses o; // quorum 2
  CAF_CHECK(!o.tcp_address({"10.0.0.2"}));
  // One observer, nobody disagreeing: its word (for a guess it is enough).
  o.add(pid(1), "203.0.113.50", tcp("203.0.113.7", 40001));
  CAF_CHECK_EQUAL(o.tcp_address({"10.0.0.2"}).value_or(""), "203.0.113.7");
  // Our own address: no NAT, nothing to guess.
  CAF_CHECK(!o.tcp_address({"203.0.113.7"}));
  // UDP and IPv6 reports do not count.
  o.add(pid(2), "203.0.113.51", udp("203.0.113.99", 1));
  o.add(pid(3), "2001:db8::1", tcp("2001:db8::2", 2));
  CAF_CHECK_EQUAL(o.tcp_address({"10.0.0.2"}).value_or(""), "203.0.113.7");
  // A disagreeing observer: no answer until a quorum forms.
  o.add(pid(4), "203.0.113.52", tcp("192.0.2.66", 3));
  CAF_CHECK(!o.tcp_address({"10.0.0.2"}));
  o.add(pid(5), "203.0.113.53", tcp("203.0.113.7", 40002));
  CAF_CHECK_EQUAL(o.tcp_address({"10.0.0.2"}).value_or(""), "203.0.113.7");
}
