// The DoS limit cores: inbound admission (whitelist, connection limit,
// half-open limits, per-address rate, bounded tables), alert rate limiting,
// and a link's receive budget (receipts and rate).
#define CAF_SUITE actors.limits
#include <caf/test/unit_test.hpp>

#include "actors/admission.hpp"
#include "actors/alert_limiter.hpp"
#include "actors/receive_budget.hpp"

#include <atomic>

using namespace crust;
using namespace std::chrono_literals;
using verdict = admission_control::verdict;

namespace {

const auto t0 = std::chrono::steady_clock::time_point{} + 1000h;

limits_config no_rate() {
  limits_config c;
  c.connection_rate = 0;
  return c;
}

} // namespace

CAF_TEST(half open handshakes are limited per address and in all) {
  auto cfg = no_rate();
  cfg.max_half_open = 5;
  cfg.max_half_open_per_address = 2;
  admission_control a{cfg};
  CAF_CHECK(a.admit_inbound("203.0.113.1", 0, t0) == verdict::admit);
  CAF_CHECK(a.admit_inbound("203.0.113.1", 1, t0) == verdict::admit);
  CAF_CHECK(a.admit_inbound("203.0.113.1", 2, t0) == verdict::too_many_half_open_from_address);
  CAF_CHECK(a.admit_inbound("203.0.113.2", 2, t0) == verdict::admit);
  CAF_CHECK(a.admit_inbound("203.0.113.3", 3, t0) == verdict::admit);
  CAF_CHECK(a.admit_inbound("203.0.113.4", 4, t0) == verdict::admit);
  CAF_CHECK(a.admit_inbound("203.0.113.5", 5, t0) == verdict::too_many_half_open);
  CAF_CHECK_EQUAL(a.half_open(), 5u);
  // A handshake over (done or failed) frees its slot, and the address's.
  a.handshake_over("203.0.113.1");
  CAF_CHECK_EQUAL(a.half_open_from("203.0.113.1"), 1u);
  CAF_CHECK(a.admit_inbound("203.0.113.1", 5, t0) == verdict::admit);
  a.handshake_over("203.0.113.1");
  a.handshake_over("203.0.113.1");
  CAF_CHECK_EQUAL(a.half_open_from("203.0.113.1"), 0u);
  CAF_CHECK_EQUAL(a.half_open(), 3u);
  // An address with nothing under way is not counted twice.
  a.handshake_over("203.0.113.1");
  CAF_CHECK_EQUAL(a.half_open(), 3u);
}

CAF_TEST(the connection limit counts every link) {
  auto cfg = no_rate();
  cfg.max_connections = 3;
  admission_control a{cfg};
  CAF_CHECK(a.admit_inbound("198.51.100.1", 2, t0) == verdict::admit);
  CAF_CHECK(a.admit_inbound("198.51.100.1", 3, t0) == verdict::too_many_connections);
  CAF_CHECK(a.room_for_link(2));
  CAF_CHECK(!a.room_for_link(3));
}

CAF_TEST(connection rate per address is a token bucket) {
  limits_config cfg;
  cfg.connection_rate = 2; // per second
  cfg.connection_burst = 3;
  cfg.max_half_open_per_address = 100;
  admission_control a{cfg};
  auto x = "198.51.100.9";
  for (int i = 0; i < 3; ++i) {
    CAF_CHECK(a.admit_inbound(x, 0, t0) == verdict::admit);
    a.handshake_over(x);
  }
  CAF_CHECK(a.admit_inbound(x, 0, t0) == verdict::rate_exceeded);
  // Another address has its own bucket.
  CAF_CHECK(a.admit_inbound("198.51.100.10", 0, t0) == verdict::admit);
  // Half a second refills one token, not two.
  CAF_CHECK(a.admit_inbound(x, 0, t0 + 500ms) == verdict::admit);
  a.handshake_over(x);
  CAF_CHECK(a.admit_inbound(x, 0, t0 + 500ms) == verdict::rate_exceeded);
  // Refills stop at the burst.
  for (int i = 0; i < 3; ++i) {
    CAF_CHECK(a.admit_inbound(x, 0, t0 + 1h) == verdict::admit);
    a.handshake_over(x);
  }
  CAF_CHECK(a.admit_inbound(x, 0, t0 + 1h) == verdict::rate_exceeded);
}

CAF_TEST(refused dialers from one address get retry after slots one token apart) {
  // 100 honest dialers behind one address (a carrier-grade NAT) all dial
  // at once: the burst gets in, every other one is told a slot of its own,
  // and coming back at its slot, each finds a token.
  limits_config cfg;
  cfg.connection_rate = 10;
  cfg.connection_burst = 20;
  cfg.max_half_open_per_address = 1000;
  admission_control a{cfg};
  auto x = "100.64.0.1";
  std::vector<std::chrono::milliseconds> slots;
  for (int i = 0; i < 100; ++i) {
    auto v = a.admit_inbound(x, 0, t0);
    if (v == verdict::admit) {
      a.handshake_over(x);
      continue;
    }
    CAF_REQUIRE(v == verdict::rate_exceeded);
    slots.push_back(a.retry_after(v, x, t0));
  }
  CAF_REQUIRE_EQUAL(slots.size(), 80u);
  for (size_t i = 0; i < slots.size(); ++i)
    CAF_CHECK_EQUAL(slots[i].count(), static_cast<int64_t>(100 * (i + 1)));
  // Everyone back at their slot gets in; nobody in between is needed.
  size_t admitted = 0;
  for (auto& s : slots)
    if (a.admit_inbound(x, 0, t0 + s) == verdict::admit) {
      a.handshake_over(x);
      ++admitted;
    }
  CAF_CHECK_EQUAL(admitted, slots.size());
  // Such a crowd is no flood: refused in one burst, then back in its slots.
  CAF_CHECK(!a.rate_flood(x));
  // An address that keeps dialling regardless is, in its second second.
  auto y = "198.51.100.66";
  size_t flagged = 0;
  for (int i = 0; i < 200; ++i) {
    auto when = t0 + std::chrono::milliseconds(10 * i); // 100 dials a second
    auto v = a.admit_inbound(y, 0, when);
    if (v == verdict::admit) {
      a.handshake_over(y);
      continue;
    }
    a.retry_after(v, y, when);
    if (a.rate_flood(y)) {
      CAF_CHECK_GREATER_OR_EQUAL(i, 100); // never in its first second
      ++flagged;
    }
  }
  CAF_MESSAGE(flagged << " of its refusals in the second second are a flood");
  CAF_CHECK_GREATER(flagged, 40u);
  // Other refusals name fixed waits.
  CAF_CHECK_EQUAL(a.retry_after(verdict::too_many_half_open_from_address, x, t0).count(), 1000);
  CAF_CHECK_EQUAL(a.retry_after(verdict::too_many_connections, x, t0).count(), 30000);
  CAF_CHECK_EQUAL(a.retry_after(verdict::not_allowed, x, t0).count(), 600000);
}

CAF_TEST(the rate table forgets the least recently seen address when full) {
  limits_config cfg;
  cfg.connection_rate = 1;
  cfg.connection_burst = 1;
  cfg.tracked_addresses = 3;
  admission_control a{cfg};
  for (auto x : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
    CAF_CHECK(a.admit_inbound(x, 0, t0) == verdict::admit);
    a.handshake_over(x);
  }
  CAF_CHECK(a.admit_inbound("10.0.0.1", 0, t0) == verdict::rate_exceeded); // 1 is now recent
  CAF_CHECK(a.admit_inbound("10.0.0.4", 0, t0) == verdict::admit);          // evicts 2
  a.handshake_over("10.0.0.4");
  CAF_CHECK_EQUAL(a.tracked_addresses(), 3u);
  CAF_CHECK(a.admit_inbound("10.0.0.3", 0, t0) == verdict::rate_exceeded); // still tracked
  CAF_CHECK(a.admit_inbound("10.0.0.2", 0, t0) == verdict::admit);          // forgotten: fresh
  // A flood of new addresses never grows the table beyond its bound.
  for (int i = 0; i < 1000; ++i) {
    auto x = "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    a.admit_inbound(x, 0, t0);
    a.handshake_over(x);
  }
  CAF_CHECK_EQUAL(a.tracked_addresses(), 3u);
}

CAF_TEST(whitelist mode admits listed addresses and subnets only) {
  auto cfg = no_rate();
  cfg.allow_only = {"203.0.113.7", "10.20.0.0/16", "2001:db8::/32"};
  CAF_CHECK(!admission_control::check(cfg));
  admission_control a{cfg};
  CAF_CHECK(a.admit_inbound("203.0.113.7", 0, t0) == verdict::admit);
  CAF_CHECK(a.admit_inbound("::ffff:203.0.113.7", 0, t0) == verdict::admit);
  CAF_CHECK(a.admit_inbound("203.0.113.8", 0, t0) == verdict::not_allowed);
  CAF_CHECK(a.admit_inbound("10.20.200.1", 0, t0) == verdict::admit);
  CAF_CHECK(a.admit_inbound("10.21.0.1", 0, t0) == verdict::not_allowed);
  CAF_CHECK(a.admit_inbound("2001:db8:1::5", 0, t0) == verdict::admit);
  CAF_CHECK(a.admit_inbound("2001:db9::5", 0, t0) == verdict::not_allowed);
  CAF_CHECK_EQUAL(a.half_open(), 4u);
}

CAF_TEST(malformed whitelist entries are refused with the entry named) {
  for (auto bad : {"10.0.0.0/33", "example.org", "10.0.0.1/", "10.0.0.1/x", "::/129", ""}) {
    limits_config cfg;
    cfg.allow_only = {bad};
    auto err = admission_control::check(cfg);
    CAF_CHECK(err.has_value());
    if (err)
      CAF_CHECK(err->find(std::string("\"") + bad + "\"") != std::string::npos);
  }
}

CAF_TEST(alerts of one kind and source go out once per interval with counts) {
  alert_limiter lim{1000ms};
  alert a;
  a.kind = alert_kind::handshake_flood;
  a.address = "203.0.113.66";
  auto first = lim.offer(a, t0);
  CAF_REQUIRE(first.has_value());
  CAF_CHECK_EQUAL(first->count, 1u);
  for (int i = 0; i < 99; ++i)
    CAF_CHECK(!lim.offer(a, t0 + 10ms).has_value());
  // Another source or kind is not held back.
  auto b = a;
  b.address = "203.0.113.67";
  CAF_CHECK(lim.offer(b, t0 + 10ms).has_value());
  auto c = a;
  c.kind = alert_kind::rate_exceeded;
  CAF_CHECK(lim.offer(c, t0 + 10ms).has_value());
  CAF_CHECK(lim.pending());
  CAF_CHECK(lim.flush(t0 + 500ms).empty()); // interval not over
  auto later = lim.flush(t0 + 1000ms);
  CAF_REQUIRE_EQUAL(later.size(), 1u);
  CAF_CHECK_EQUAL(later[0].count, 99u); // none lost
  CAF_CHECK_EQUAL(later[0].address, "203.0.113.66");
  CAF_CHECK(!lim.pending());
  // Quiet sources are forgotten after a whole quiet interval.
  lim.flush(t0 + 3000ms);
  CAF_CHECK_EQUAL(lim.sources(), 0u);
  // After a quiet interval the next one goes out at once.
  CAF_CHECK(lim.offer(a, t0 + 3000ms).has_value());
}

CAF_TEST(alerts from too many sources are pooled) {
  alert_limiter lim{1000ms, 4};
  size_t sent = 0;
  for (int i = 0; i < 100; ++i) {
    alert a;
    a.kind = alert_kind::rate_exceeded;
    a.address = "10.9.0." + std::to_string(i);
    if (auto x = lim.offer(a, t0))
      ++sent;
  }
  CAF_CHECK_EQUAL(lim.sources(), 5u); // 4 sources and the pool
  CAF_CHECK_EQUAL(sent, 5u);
  auto rest = lim.flush(t0 + 1s);
  CAF_REQUIRE_EQUAL(rest.size(), 1u);
  CAF_CHECK_EQUAL(rest[0].count, 95u);
  CAF_CHECK(rest[0].address.empty());
}

CAF_TEST(receipts give bytes back and wake a paused link) {
  std::atomic<int> woken{0};
  auto b = std::make_shared<receive_budget>(100, 0, [&] { ++woken; }, t0);
  CAF_CHECK(b->may_deliver(t0));
  auto r1 = b->deliver(60, t0);
  auto r2 = b->deliver(60, t0);
  CAF_CHECK_EQUAL(b->outstanding(), 120u);
  CAF_CHECK(!b->may_deliver(t0)); // paused: asks to be woken
  auto copy = r1;                 // a copy of a message keeps its bytes counted
  r1.reset();
  CAF_CHECK_EQUAL(b->outstanding(), 120u);
  CAF_CHECK_EQUAL(woken.load(), 0);
  copy.reset();
  CAF_CHECK_EQUAL(b->outstanding(), 60u);
  CAF_CHECK_EQUAL(woken.load(), 1);
  CAF_CHECK(b->may_deliver(t0));
  r2.reset();
  CAF_CHECK_EQUAL(woken.load(), 1); // nobody was waiting
  // A receipt outliving its link is harmless.
  auto late = b->deliver(10, t0);
  b.reset();
  late.reset();
}

CAF_TEST(the receive rate is a token bucket of one second) {
  auto b = std::make_shared<receive_budget>(1 << 30, 1000, nullptr, t0);
  CAF_CHECK(b->may_deliver(t0));
  b->deliver(1500, t0); // a message larger than the bucket still goes
  CAF_CHECK(!b->may_deliver(t0));
  auto wait = b->retry_after(t0);
  CAF_CHECK(wait > 500ms && wait <= 501ms); // 500 bytes owed, and one more
  CAF_CHECK(!b->may_deliver(t0 + 400ms));
  CAF_CHECK(b->may_deliver(t0 + 501ms));
  CAF_CHECK(b->retry_after(t0 + 501ms) == std::chrono::steady_clock::duration::zero());
}
