#pragma once

// One measured figure of crust-bench, and the shared knobs of a run.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace bench {

/// A measured value: `metric` at message `size` (0 when not applicable) for
/// one `system` (crust, tcp, zmq-curve, libsodium, bound).
struct result {
  std::string metric;  ///< e.g. "throughput_msgs", "rtt_p50_us"
  size_t size = 0;
  std::string system;
  double value = 0;
  std::string unit;
};

struct options {
  bool quick = false;
  std::chrono::milliseconds duration{1500};  ///< per throughput case
  size_t rtt_rounds = 2000;
  size_t setup_rounds = 100;
  std::vector<size_t> sizes{64, 1024, 64 * 1024, 1024 * 1024};
  std::vector<size_t> idle_connections{1000, 10000};
  std::string node_binary;                   ///< crust-node, for the memory case
};

using results = std::vector<result>;

/// Seconds since an arbitrary start, as a double.
inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// The p-th percentile (0..100) of `xs` (sorted in place).
double percentile(std::vector<double>& xs, double p);

/// CPU seconds (user + system) this process used so far.
double cpu_seconds();

void run_crypto(const options& opt, results& out);
void run_crust(const options& opt, results& out);
void run_tcp(const options& opt, results& out);
void run_zmq(const options& opt, results& out);
void run_memory(const options& opt, results& out);

} // namespace bench
