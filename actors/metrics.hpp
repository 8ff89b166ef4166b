#pragma once

// A node's numbers as Prometheus metrics: what `stats`, `nat` and the
// routing layer's events tell, as metric families (name, help, type,
// labelled samples) an embedder can copy into its own registry, and their
// text exposition format (version 0.0.4). Pure functions, no I/O.
// Names follow Prometheus's conventions: `crust_` prefix, base units
// (seconds, bytes), `_total` for counters.

#include "messages/discovery_events.hpp"
#include "messages/events.hpp"
#include "messages/nat.hpp"
#include "messages/peer_info.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crust {

enum class metric_type { counter, gauge, histogram };

struct metric_sample {
  /// "" for counters and gauges; "_bucket", "_sum" or "_count" for a
  /// histogram's series.
  std::string suffix;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct metric_family {
  std::string name; ///< without a histogram's suffixes
  std::string help;
  metric_type type = metric_type::gauge;
  std::vector<metric_sample> samples;
};

/// Everything the metrics are made of, as one snapshot.
struct metrics_input {
  peer_id id;
  std::string version;
  node_stats stats;
  std::optional<nat_status> nat;            ///< none when NAT traversal is off
  std::optional<bootstrap_state> bootstrap; ///< the last status reported
  std::map<alert_kind, uint64_t> alerts;    ///< occurrences by kind, so far
  /// Round trips observed so far (each peer's last one, at every snapshot):
  /// counts per bucket of `rtt_bucket_bounds_us`, not cumulative, and the
  /// sum in microseconds.
  std::vector<uint64_t> rtt_buckets;
  uint64_t rtt_sum_us = 0;
};

/// The upper bounds (microseconds) of `metrics_input::rtt_buckets`.
constexpr uint64_t rtt_bucket_bounds_us[] = {100,    250,    500,    1000,    2500,
                                             5000,   10000,  25000,  50000,   100000,
                                             250000, 500000, 1000000, 2500000};

/// Counts `value` into `buckets` (per bucket, not cumulative; one more
/// than `bounds` for what lies above the last), sizing them on first use.
template <size_t N>
void observe(std::vector<uint64_t>& buckets, const uint64_t (&bounds)[N], uint64_t value) {
  if (buckets.size() != N + 1)
    buckets.assign(N + 1, 0);
  size_t b = 0;
  while (b < N && value > bounds[b])
    ++b;
  ++buckets[b];
}

/// Adds each connected peer's last round trip to the RTT histogram.
void observe_rtts(metrics_input& in);

/// The families, in a fixed order.
std::vector<metric_family> collect_metrics(const metrics_input& in);

/// The text exposition format: `# HELP`, `# TYPE`, one line per sample,
/// label values escaped.
std::string prometheus_text(const std::vector<metric_family>& families);

} // namespace crust
