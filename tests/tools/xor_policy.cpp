// crust-node's XOR routing policy (--routing=xor), sans-I/O: it keeps the
// closest peers and a few random ones, dials chosen peers it knows how to
// reach, a few at a time, and lets go of links nobody chose.
#define CAF_SUITE tools.xor_policy
#include <caf/test/unit_test.hpp>

#include "xor_policy.hpp"

#include "transport/address.hpp"

#include <algorithm>

using namespace crust;
using namespace std::chrono_literals;

namespace {

peer_id pid(uint8_t first) {
  peer_id x;
  x.key.fill(0);
  x.key[0] = first;
  return x;
}

endpoint ep(int i) {
  return *parse_endpoint("tcp://10.0.0.1:" + std::to_string(5000 + i));
}

size_t count(const std::vector<xor_policy::action>& xs, xor_policy::action::kind k) {
  return static_cast<size_t>(std::count_if(xs.begin(), xs.end(), [&](auto& a) { return a.what == k; }));
}

bool has(const std::vector<xor_policy::action>& xs, xor_policy::action::kind k, const peer_id& p) {
  return std::any_of(xs.begin(), xs.end(), [&](auto& a) { return a.what == k && a.peer == p; });
}

} // namespace

CAF_TEST(the closest peers and a random one are chosen and maintained) {
  auto t0 = xor_policy::clock::now();
  xor_policy_config cfg;
  cfg.keep = 3;
  cfg.random = 1;
  xor_policy p{pid(0), cfg, 1};
  // Peers 1..20: 1, 2, 3 are the closest to 0.
  for (uint8_t i = 1; i <= 20; ++i)
    p.learned(pid(static_cast<uint8_t>(i * 8)), {ep(i)});
  for (uint8_t i = 1; i <= 20; ++i)
    p.up(pid(static_cast<uint8_t>(i * 8)), direction::outbound, ep(i));
  auto acts = p.settle(t0);
  CAF_CHECK_EQUAL(p.chosen().size(), 4u);
  CAF_CHECK(p.chosen().count(pid(8)) && p.chosen().count(pid(16)) && p.chosen().count(pid(24)));
  CAF_CHECK_EQUAL(count(acts, xor_policy::action::kind::maintain), 4u);
  // The other 16 outbound links were ours and nobody chose them: dropped once.
  CAF_CHECK_EQUAL(count(acts, xor_policy::action::kind::drop), 16u);
  auto again = p.settle(t0 + 1s);
  CAF_CHECK(again.empty());
  // The random pick is stable across decisions.
  auto chosen = p.chosen();
  for (uint8_t i = 1; i <= 20; ++i)
    if (!chosen.count(pid(static_cast<uint8_t>(i * 8))))
      p.down(pid(static_cast<uint8_t>(i * 8)));
  p.settle(t0 + 2s);
  CAF_CHECK(p.chosen() == chosen);
}

CAF_TEST(a closer peer replaces the farthest chosen one) {
  auto t0 = xor_policy::clock::now();
  xor_policy_config cfg;
  cfg.keep = 2;
  cfg.random = 0;
  xor_policy p{pid(0), cfg, 1};
  p.up(pid(64), direction::outbound, ep(1));
  p.up(pid(128), direction::outbound, ep(2));
  p.settle(t0);
  CAF_CHECK(p.chosen().count(pid(128)));
  p.learned(pid(8), {ep(3)});
  auto acts = p.settle(t0 + 1s);
  CAF_CHECK(!p.chosen().count(pid(128)));
  CAF_CHECK(has(acts, xor_policy::action::kind::drop, pid(128))); // no longer maintained
  CAF_REQUIRE(has(acts, xor_policy::action::kind::connect, pid(8)));
  auto c = std::find_if(acts.begin(), acts.end(),
                        [](auto& a) { return a.what == xor_policy::action::kind::connect; });
  CAF_CHECK_EQUAL(c->remote, ep(3));
}

CAF_TEST(dials are bounded per decision and per peer) {
  auto t0 = xor_policy::clock::now();
  xor_policy_config cfg;
  cfg.keep = 10;
  cfg.random = 0;
  cfg.dials_per_settle = 4;
  cfg.redial = 5s;
  xor_policy p{pid(0), cfg, 1};
  for (uint8_t i = 1; i <= 10; ++i)
    p.learned(pid(i), {ep(i)});
  CAF_CHECK_EQUAL(count(p.settle(t0), xor_policy::action::kind::connect), 4u);
  CAF_CHECK_EQUAL(count(p.settle(t0 + 1s), xor_policy::action::kind::connect), 4u);
  CAF_CHECK_EQUAL(count(p.settle(t0 + 2s), xor_policy::action::kind::connect), 2u);
  CAF_CHECK_EQUAL(count(p.settle(t0 + 3s), xor_policy::action::kind::connect), 0u);
  // Never answered: again after `redial`.
  CAF_CHECK_EQUAL(count(p.settle(t0 + 5s), xor_policy::action::kind::connect), 4u);
  // A peer learned without an endpoint is not dialled.
  xor_policy q{pid(0), cfg, 1};
  q.learned(pid(1), {});
  CAF_CHECK_EQUAL(count(q.settle(t0), xor_policy::action::kind::connect), 0u);
}

CAF_TEST(inbound links stay and links are kept until our own set is up) {
  auto t0 = xor_policy::clock::now();
  xor_policy_config cfg;
  cfg.keep = 2;
  cfg.random = 0;
  xor_policy p{pid(0), cfg, 1};
  p.learned(pid(1), {ep(1)});
  p.learned(pid(2), {ep(2)});
  p.up(pid(200), direction::outbound, ep(9)); // the bootstrap seed
  p.up(pid(201), direction::inbound, {});
  auto acts = p.settle(t0);
  // Our chosen two are not up yet: the seed's link stays.
  CAF_CHECK(!has(acts, xor_policy::action::kind::drop, pid(200)));
  p.up(pid(1), direction::outbound, ep(1));
  p.up(pid(2), direction::outbound, ep(2));
  acts = p.settle(t0 + 1s);
  CAF_CHECK(has(acts, xor_policy::action::kind::drop, pid(200)));
  CAF_CHECK(!has(acts, xor_policy::action::kind::drop, pid(201)));
  // Blacklisted peers are never chosen.
  p.blacklisted(pid(1));
  p.settle(t0 + 2s);
  CAF_CHECK(!p.chosen().count(pid(1)));
}

CAF_TEST(what is remembered is bounded) {
  auto t0 = xor_policy::clock::now();
  xor_policy_config cfg;
  cfg.keep = 2;
  cfg.random = 0;
  cfg.max_known = 50;
  xor_policy p{pid(0), cfg, 1};
  for (int i = 1; i <= 255; ++i)
    p.learned(pid(static_cast<uint8_t>(i)), {ep(i)});
  CAF_CHECK_LESS_OR_EQUAL(p.known(), 50u);
  p.settle(t0);
  CAF_CHECK_EQUAL(p.chosen().size(), 2u);
}
