#include "nat/birthday.hpp"

#include <algorithm>

namespace crust {

namespace {

constexpr uint32_t port_lo = 1024;
constexpr uint32_t port_hi = 65535;

} // namespace

std::string to_string(port_allocation x) {
  switch (x) {
    case port_allocation::unknown: return "unknown";
    case port_allocation::sequential: return "sequential";
    case port_allocation::random: return "random";
  }
  return "unknown";
}

std::vector<endpoint> dependent_mappings(const connection_info& x) {
  std::vector<endpoint> out;
  if (x.nat != nat_class::endpoint_dependent)
    return out;
  for (auto& ep : x.external) {
    if (ep.proto != protocol::udp || ep.port == 0)
      continue;
    if (!out.empty() && ep.address != out.front().address)
      return {}; // no one address to probe
    out.push_back(ep);
  }
  return out;
}

port_allocation guess_allocation(const connection_info& x) {
  auto seen = dependent_mappings(x);
  if (seen.size() < 2)
    return port_allocation::unknown;
  auto [lo, hi] = std::minmax_element(seen.begin(), seen.end(), [](auto& a, auto& b) {
    return a.port < b.port;
  });
  return hi->port - lo->port <= sequential_spread ? port_allocation::sequential
                                                   : port_allocation::random;
}

std::vector<uint16_t> predicted_ports(const connection_info& x, size_t window) {
  std::vector<uint16_t> out;
  if (guess_allocation(x) != port_allocation::sequential)
    return out;
  uint32_t highest = 0;
  for (auto& ep : dependent_mappings(x))
    highest = std::max<uint32_t>(highest, ep.port);
  const uint32_t span = port_hi - port_lo + 1;
  for (size_t i = 1; i <= window && i <= span; ++i)
    out.push_back(static_cast<uint16_t>(port_lo + (highest - port_lo + i) % span));
  return out;
}

pacer::pacer(size_t total, size_t per_second, clock::time_point start)
  : total_(total), per_second_(std::max<size_t>(per_second, 1)), start_(start) {
}

size_t pacer::take(clock::time_point now) {
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
    std::max(now - start_, clock::duration::zero()));
  auto allowed = 1 + static_cast<size_t>(static_cast<uint64_t>(elapsed.count()) * per_second_
                                         / 1000000);
  allowed = std::min(allowed, total_);
  if (allowed <= taken_)
    return 0;
  auto n = allowed - taken_;
  taken_ = allowed;
  return n;
}

pacer::clock::time_point pacer::finish() const {
  if (total_ <= 1)
    return start_;
  return start_ + std::chrono::microseconds((total_ - 1) * 1000000 / per_second_);
}

port_probe::port_probe(std::vector<uint16_t> first, const probe_budget& budget, uint64_t seed,
                       clock::time_point start)
  : first_(std::move(first)),
    pace_(std::min<size_t>(budget.probes, port_hi - port_lo + 1), budget.probes_per_second,
          start),
    rng_(seed) {
}

uint16_t port_probe::next_port() {
  while (next_first_ < first_.size()) {
    auto p = first_[next_first_++];
    if (p >= port_lo && used_.insert(p).second)
      return p;
  }
  // At most 64,512 probes (the pacer's bound), so a free port always exists.
  std::uniform_int_distribution<uint32_t> pick(port_lo, port_hi);
  for (;;) {
    auto p = static_cast<uint16_t>(pick(rng_));
    if (used_.insert(p).second)
      return p;
  }
}

std::vector<uint16_t> port_probe::due(clock::time_point now) {
  std::vector<uint16_t> out;
  auto n = pace_.take(now);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i)
    out.push_back(next_port());
  return out;
}

} // namespace crust
