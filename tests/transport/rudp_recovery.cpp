// Reliable UDP's loss recovery pieces on their own: the RTT estimator's
// recent minimum (a queue against jitter) and NewReno's undo of a reduction
// whose loss proved spurious.
#define CAF_SUITE transport.rudp_recovery
#include <caf/test/unit_test.hpp>

#include "transport/rudp/recovery.hpp"

#include <random>

using namespace crust::rudp;
using namespace std::chrono_literals;

CAF_TEST(jitter leaves the recent minimum at the base and a queue lifts it) {
  rtt_estimator rtt;
  std::mt19937_64 rng(7);
  auto now = time_point{} + 100s;
  // 40 ms base, up to 30 ms of jitter, a sample every 2 ms for 2 s.
  for (int i = 0; i < 1000; ++i) {
    now += 2ms;
    rtt.update(40ms + std::chrono::microseconds(rng() % 30000), 0ms, now);
  }
  CAF_CHECK_GREATER(rtt.smoothed(), 50ms); // the average sits well above the base
  CAF_CHECK_LESS(rtt.recent_min(), 42ms);  // the lowest recent sample does not
  // A standing queue: 60 ms more on every packet from now on.
  for (int i = 0; i < 500; ++i) {
    now += 2ms;
    rtt.update(100ms + std::chrono::microseconds(rng() % 30000), 0ms, now);
  }
  CAF_CHECK_GREATER(rtt.recent_min(), 95ms);
  CAF_CHECK_LESS(rtt.min(), 41ms);
}

CAF_TEST(a reduction for a loss that proves spurious is undone) {
  new_reno cc(1200);
  auto t0 = time_point{} + 100s;
  for (int i = 0; i < 40; ++i) { // slow start to 58 datagrams' worth
    cc.on_sent(1200);
    cc.on_acked(1200, t0, false);
  }
  auto grown = cc.window();
  CAF_REQUIRE_GREATER(grown, 12000u);
  // A loss while the path queues: the window halves.
  cc.on_sent(1200);
  auto sent = t0 + 1ms;
  cc.on_lost(1200, sent, t0 + 50ms, true, 41);
  CAF_CHECK_EQUAL(cc.window(), grown / 2);
  auto lossy = cc.loss_rate();
  CAF_CHECK_GREATER(lossy, 0.0);
  // Another packet's late arrival undoes nothing.
  cc.on_spurious_loss(42);
  CAF_CHECK_EQUAL(cc.window(), grown / 2);
  // That packet's own does: it was only late.
  cc.on_spurious_loss(41);
  CAF_CHECK_EQUAL(cc.window(), grown);
  CAF_CHECK_LESS(cc.loss_rate(), lossy);
  // Once only.
  cc.on_lost(1200, t0 + 60ms, t0 + 100ms, true, 43);
  auto halved = cc.window();
  cc.on_spurious_loss(41);
  CAF_CHECK_EQUAL(cc.window(), halved);
}

CAF_TEST(random loss without a queue keeps the window) {
  new_reno cc(1200);
  auto t0 = time_point{} + 100s;
  for (int i = 0; i < 20; ++i) {
    cc.on_sent(1200);
    cc.on_acked(1200, t0, false);
  }
  auto before = cc.window();
  cc.on_sent(1200);
  cc.on_lost(1200, t0 + 1ms, t0 + 50ms, false, 21);
  CAF_CHECK_EQUAL(cc.window(), before);
}
