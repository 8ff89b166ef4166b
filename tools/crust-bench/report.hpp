#pragma once

// One measured figure of crust-bench, and the shared knobs of a run.

#include "messages/endpoint.hpp" // crust::protocol

#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>
#include <thread>

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
  /// Many connections: this many senders into one receiver (`many_msgs`,
  /// `many_mb`), for the sizes of `sizes` that are also in `many_sizes`.
  size_t many_connections = 8;
  std::vector<size_t> many_sizes{64, 64 * 1024};
  std::vector<size_t> idle_connections{1000, 10000};
  std::string node_binary;                   ///< crust-node, for the memory case
  /// The `rtt_spin_*` rows: round trips again with CAF's idle workers
  /// polling this many times before they sleep
  /// (`work-stealing.aggressive-poll-attempts`; CAF's default is 100).
  /// 0 skips them.
  size_t spin_attempts = 10000;
  /// The in-process swarm (`--only swarm`): nodes in one actor system.
  size_t swarm_nodes = 1000;
};

/// Sets CAF's scheduler as crust-node does (`crust::tune_scheduler`), with
/// idle workers polling `spin_attempts` times before they sleep (0: CAF's
/// default).
void configure_scheduler(caf::actor_system_config& cfg, size_t spin_attempts);

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

/// What a throughput case delivered (and what its senders sent) inside its
/// measurement window.
struct window {
  uint64_t msgs = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t sent_msgs = 0;
  uint64_t sent_bytes = 0;
  /// Since the case started (warm-up and window): whether it moved anything
  /// at all, where a slow build may move nothing in the window itself.
  uint64_t total_msgs = 0;
  uint64_t total_sent_msgs = 0;
};

/// Lets a running case warm up, then counts what the receive counters, and
/// the senders' counters, gain during `opt.duration` (the counters start at
/// zero with the case).
template <class Counter>
window measure_window(const options& opt, const Counter& msgs, const Counter& bytes,
                      const Counter& sent_msgs, const Counter& sent_bytes) {
  std::this_thread::sleep_for(opt.quick ? std::chrono::milliseconds(100)
                                        : std::chrono::milliseconds(300));
  window w{msgs.load(), bytes.load(), now_s(), cpu_seconds(), sent_msgs.load(), sent_bytes.load()};
  std::this_thread::sleep_for(opt.duration);
  w.msgs = msgs.load() - w.msgs;
  w.bytes = bytes.load() - w.bytes;
  w.sent_msgs = sent_msgs.load() - w.sent_msgs;
  w.sent_bytes = sent_bytes.load() - w.sent_bytes;
  w.total_msgs = msgs.load();
  w.total_sent_msgs = sent_msgs.load();
  w.seconds = now_s() - w.seconds;
  w.cpu_seconds = cpu_seconds() - w.cpu_seconds;
  return w;
}

/// Adds the messages/s and MB/s rows of one throughput case, received
/// (`throughput_msgs`, `throughput_mb`) and sent (`throughput_sent_msgs`,
/// `throughput_sent_mb`); `prefix` "many" for the many-connection case.
/// A case that moved nothing at all since it started is broken, not slow:
/// its rows are added, then it throws. (Nothing in the window alone may be
/// a slow build's start, as under the sanitizers; crust's cases also fail
/// when what they sent does not all arrive after the window.)
inline void add_throughput(results& out, const std::string& system, size_t size, const window& w,
                           const std::string& prefix = "throughput") {
  auto rate = [&](uint64_t n, double scale) { return static_cast<double>(n) / w.seconds / scale; };
  out.push_back({prefix + "_msgs", size, system, rate(w.msgs, 1), "msgs/s"});
  out.push_back({prefix + "_mb", size, system, rate(w.bytes, 1e6), "MB/s"});
  out.push_back({prefix + "_sent_msgs", size, system, rate(w.sent_msgs, 1), "msgs/s"});
  out.push_back({prefix + "_sent_mb", size, system, rate(w.sent_bytes, 1e6), "MB/s"});
  // The process's CPU time per GB received (both ends: every system runs
  // its sender and receiver in this process), over one connection:
  // `cpu_per_gb`, and `batched_cpu_per_gb` for batched delivery.
  if (prefix != "many" && w.bytes > 0)
    out.push_back({prefix == "throughput" ? "cpu_per_gb" : prefix + "_cpu_per_gb", size, system,
                   w.cpu_seconds / (static_cast<double>(w.bytes) / 1e9), "CPU s/GB"});
  if (w.total_msgs == 0 && w.total_sent_msgs == 0)
    throw std::runtime_error(prefix + " " + std::to_string(size) + " B " + system
                             + ": nothing was sent or received");
}

/// Adds the rows of one 64 B round-trip series: `<prefix>_p50_us`,
/// `_p99_us` (of `samples`, sorted in place) and `_cpu_us`, the process's
/// CPU time `cpu_seconds` over `rounds` round trips, per round trip.
inline void add_round_trips(results& out, const std::string& prefix, const std::string& system,
                            std::vector<double>& samples, double cpu_seconds, double rounds) {
  out.push_back({prefix + "_p50_us", 64, system, percentile(samples, 50), "us"});
  out.push_back({prefix + "_p99_us", 64, system, percentile(samples, 99), "us"});
  out.push_back({prefix + "_cpu_us", 64, system, cpu_seconds / rounds * 1e6, "CPU us"});
}

/// The sizes the many-connection case runs.
inline std::vector<size_t> many_sizes(const options& opt) {
  std::vector<size_t> out;
  for (auto s : opt.sizes)
    for (auto m : opt.many_sizes)
      if (s == m)
        out.push_back(s);
  return out;
}

void run_crypto(const options& opt, results& out);
void run_crust(const options& opt, results& out); ///< over TCP (both ciphers), then reliable UDP
/// Throughput over TCP with ChaCha20-Poly1305 only (no AES-256-GCM offered).
void run_crust_chacha(const options& opt, results& out);
void run_crust_over(crust::protocol transport, const options& opt, results& out);
void run_tcp(const options& opt, results& out);
void run_zmq(const options& opt, results& out);
void run_memory(const options& opt, results& out);
void run_swarm(const options& opt, results& out);

} // namespace bench
