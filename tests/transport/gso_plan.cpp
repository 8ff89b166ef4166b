// Grouping a batch of datagrams into UDP GSO runs: full-sized datagrams share
// a run, a shorter one ends it, and the kernel's limits are kept.
#define CAF_SUITE transport.gso_plan
#include <caf/test/unit_test.hpp>

#include "transport/gso_plan.hpp"

using namespace crust;

namespace {

std::string show(const std::vector<gso_run>& runs) {
  std::string out;
  for (auto& r : runs)
    out += "[" + std::to_string(r.first) + "+" + std::to_string(r.count) + "@"
           + std::to_string(r.segment) + "]";
  return out;
}

} // namespace

CAF_TEST(equal datagrams share one run and a shorter last one joins it) {
  CAF_CHECK_EQUAL(show(plan_gso_runs({1232, 1232, 1232, 700})), "[0+4@1232]");
  CAF_CHECK_EQUAL(show(plan_gso_runs({1232})), "[0+1@1232]");
  CAF_CHECK_EQUAL(show(plan_gso_runs({})), "");
}

CAF_TEST(a shorter datagram ends its run and a longer one starts a new run) {
  // 700 must be the last of its run; 1232 after it cannot follow.
  CAF_CHECK_EQUAL(show(plan_gso_runs({1232, 700, 1232, 1232})), "[0+2@1232][2+2@1232]");
  CAF_CHECK_EQUAL(show(plan_gso_runs({60, 1232, 1232})), "[0+1@60][1+2@1232]");
  CAF_CHECK_EQUAL(show(plan_gso_runs({60, 60, 40, 40})), "[0+3@60][3+1@40]");
}

CAF_TEST(runs respect the segment and byte limits) {
  std::vector<size_t> many(150, 1000);
  // 64 segments at most (65 000 bytes would allow 65).
  CAF_CHECK_EQUAL(show(plan_gso_runs(many)), "[0+64@1000][64+64@1000][128+22@1000]");
  std::vector<size_t> big(60, 1232);
  // 52 × 1232 = 64 064 fits in 65 000; 53 would not.
  CAF_CHECK_EQUAL(show(plan_gso_runs(big)), "[0+52@1232][52+8@1232]");
  // With GSO off (one segment per run) every datagram is its own message.
  CAF_CHECK_EQUAL(show(plan_gso_runs({1232, 1232, 5}, 1)), "[0+1@1232][1+1@1232][2+1@5]");
}

CAF_TEST(empty datagrams never form runs) {
  CAF_CHECK_EQUAL(show(plan_gso_runs({0, 0, 10})), "[0+1@0][1+1@0][2+1@10]");
}
