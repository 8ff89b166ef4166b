#include "transport/gso_plan.hpp"

namespace crust {

std::vector<gso_run> plan_gso_runs(const std::vector<size_t>& sizes, size_t max_segments,
                                   size_t max_bytes) {
  std::vector<gso_run> runs;
  size_t i = 0;
  while (i < sizes.size()) {
    gso_run r{i, 1, sizes[i]};
    size_t total = sizes[i];
    // A run stays open while its datagrams are all full-sized; a shorter one
    // may still end it.
    while (i + r.count < sizes.size() && r.count < max_segments && r.segment > 0) {
      auto next = sizes[i + r.count];
      if (next > r.segment || total + next > max_bytes)
        break;
      total += next;
      ++r.count;
      if (next < r.segment)
        break;
    }
    runs.push_back(r);
    i += r.count;
  }
  return runs;
}

} // namespace crust
