// crust-bench: crust side by side with raw TCP, ZeroMQ CURVE and libsodium's
// bounds, in one run on one machine. See README.md ("Benchmarks").
//
//   crust-bench [--quick] [--duration-ms N] [--only LIST] [--json FILE] [--csv FILE]
//               [--node PATH] [--connections N,N] [--sizes N,N] [--many N] [--spin N]

#include "report.hpp"

#include <sodium.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace bench {

double cpu_seconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

} // namespace bench

namespace {

using bench::result;

std::optional<double> find(const bench::results& rs, const std::string& metric, size_t size,
                           const std::string& system) {
  for (auto& r : rs)
    if (r.metric == metric && r.size == size && r.system == system)
      return r.value;
  return std::nullopt;
}

std::string size_name(const std::string& metric, size_t size) {
  if (size == 0)
    return "";
  if (metric.rfind("memory", 0) == 0)
    return std::to_string(size) + " conns";
  if (size >= 1024 * 1024)
    return std::to_string(size / (1024 * 1024)) + " MiB";
  if (size >= 1024)
    return std::to_string(size / 1024) + " KiB";
  return std::to_string(size) + " B";
}

std::string fmt(std::optional<double> x) {
  if (!x)
    return "-";
  char buf[32];
  if (*x >= 1e6)
    std::snprintf(buf, sizeof(buf), "%.2fM", *x / 1e6);
  else if (*x >= 1e4)
    std::snprintf(buf, sizeof(buf), "%.1fk", *x / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%.1f", *x);
  return buf;
}

std::string ratio(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || *b == 0)
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fx", *a / *b);
  return buf;
}

struct target {
  std::string what;
  std::optional<double> value;
  std::optional<double> limit;
  bool at_least; ///< value >= limit (else value <= limit)
  /// What no design of this shape can beat on this machine, measured in the
  /// same run (the round-trip floor with an actor at each end; the crypto
  /// on the handshake's critical path; for throughput, a ceiling: see
  /// `encrypted_ceiling`). A limit beyond it cannot be met.
  std::optional<double> floor = std::nullopt;
};

/// The most an encrypted stream can carry on this machine's cores (MB/s):
/// every byte costs the kernel work raw TCP spends on it (its CPU per GB in
/// the same run, both ends) plus one encryption and one decryption at the
/// one-core rate of `aead_metric` (decryption taken as fast as encryption),
/// with every core busy all the time and nothing else done. No design that
/// moves its bytes through the kernel's TCP and encrypts each once beats it.
std::optional<double> encrypted_ceiling(const bench::results& rs, const char* aead_metric) {
  auto tcp_cpu = find(rs, "cpu_per_gb", 65536, "tcp");
  auto aead = find(rs, aead_metric, 65536, "libsodium");
  if (!tcp_cpu || !aead || *aead <= 0)
    return std::nullopt;
  double cores = std::max(1u, std::thread::hardware_concurrency());
  double seconds_per_gb = *tcp_cpu + 2 * 1e3 / *aead; // aead in MB/s
  return cores / seconds_per_gb * 1e3;
}

std::vector<target> targets(const bench::results& rs) {
  auto f = [&](const char* m, size_t s, const char* sys) { return find(rs, m, s, sys); };
  auto scaled = [](std::optional<double> x, double k) -> std::optional<double> {
    if (!x)
      return std::nullopt;
    return *x * k;
  };
  // crust's default is AES-256-GCM where both ends have AES instructions.
  auto ceiling = encrypted_ceiling(rs, f("aesgcm_rate", 65536, "libsodium") ? "aesgcm_rate"
                                                                            : "aead_rate");
  auto chacha_ceiling = encrypted_ceiling(rs, "aead_rate");
  return {
    {"64 KiB throughput >= 75% of one-core ChaCha20-Poly1305 (MB/s)",
     f("throughput_mb", 65536, "crust"), scaled(f("aead_rate", 65536, "libsodium"), 0.75), true,
     ceiling},
    {"  the same with ChaCha20-Poly1305 only (no AES-256-GCM offered)",
     f("throughput_mb", 65536, "crust-chacha"), scaled(f("aead_rate", 65536, "libsodium"), 0.75),
     true, chacha_ceiling},
    {"reliable UDP 64 KiB throughput >= 50% of encrypted TCP (MB/s)",
     f("throughput_mb", 65536, "crust-udp"), scaled(f("throughput_mb", 65536, "crust"), 0.5), true},
    {"64 KiB throughput >= 2x ZeroMQ CURVE (MB/s)", f("throughput_mb", 65536, "crust"),
     scaled(f("throughput_mb", 65536, "zmq-curve"), 2), true, ceiling},
    {"  the same with ChaCha20-Poly1305 only", f("throughput_mb", 65536, "crust-chacha"),
     scaled(f("throughput_mb", 65536, "zmq-curve"), 2), true, chacha_ceiling},
    {"64 B messages/s >= 4x ZeroMQ CURVE", f("throughput_msgs", 64, "crust"),
     scaled(f("throughput_msgs", 64, "zmq-curve"), 4), true},
    {"  the same, delivered in batches (spawn_batching_node)", f("batched_msgs", 64, "crust"),
     scaled(f("throughput_msgs", 64, "zmq-curve"), 4), true},
    {"64 B round trip p50 <= 0.6x ZeroMQ CURVE (us)", f("rtt_p50_us", 64, "crust"),
     scaled(f("rtt_p50_us", 64, "zmq-curve"), 0.6), false, f("rtt_p50_us", 64, "bound")},
    {"  the same, idle workers polling longer (--spin)", f("rtt_spin_p50_us", 64, "crust"),
     scaled(f("rtt_p50_us", 64, "zmq-curve"), 0.6), false, f("rtt_spin_p50_us", 64, "bound")},
    {"64 B round trip p50 <= 2.5x raw TCP (us)", f("rtt_p50_us", 64, "crust"),
     scaled(f("rtt_p50_us", 64, "tcp"), 2.5), false, f("rtt_p50_us", 64, "bound")},
    {"  the same, idle workers polling longer (--spin)", f("rtt_spin_p50_us", 64, "crust"),
     scaled(f("rtt_p50_us", 64, "tcp"), 2.5), false, f("rtt_spin_p50_us", 64, "bound")},
    {"connect to first message p50 <= 0.3x ZeroMQ CURVE (ms)", f("setup_p50_ms", 0, "crust"),
     scaled(f("setup_p50_ms", 0, "zmq-curve"), 0.3), false, f("setup_p50_ms", 0, "bound")},
    {"handshakes/s >= 80% of the X25519/Ed25519 bound", f("handshakes_per_s", 0, "crust"),
     scaled(f("handshakes_per_s", 0, "bound"), 0.8), true},
    {"<= 20 KiB resident per idle connection at 10,000", f("memory_per_conn_kib", 10000, "crust"),
     20.0, false},
  };
}

void print_table(const bench::results& rs) {
  std::set<std::pair<std::string, size_t>> rows;
  std::vector<std::pair<std::string, size_t>> order;
  for (auto& r : rs)
    if (rows.insert({r.metric, r.size}).second)
      order.emplace_back(r.metric, r.size);
  std::printf("\n%-22s %-8s %10s %10s %10s %10s %10s %10s %9s %9s %9s  %s\n", "metric", "size",
              "crust", "chacha", "crust-udp", "raw tcp", "zmq-curve", "bound", "crust/tcp",
              "crust/zmq", "udp/crust", "unit");
  for (auto& [metric, size] : order) {
    auto c = find(rs, metric, size, "crust");
    auto cc = find(rs, metric, size, "crust-chacha");
    auto u = find(rs, metric, size, "crust-udp");
    auto t = find(rs, metric, size, "tcp");
    auto z = find(rs, metric, size, "zmq-curve");
    auto b = find(rs, metric, size, "bound");
    if (!b)
      b = find(rs, metric, size, "libsodium");
    std::string unit;
    for (auto& r : rs)
      if (r.metric == metric && r.size == size)
        unit = r.unit;
    std::printf("%-22s %-8s %10s %10s %10s %10s %10s %10s %9s %9s %9s  %s\n", metric.c_str(),
                size_name(metric, size).c_str(), fmt(c).c_str(), fmt(cc).c_str(), fmt(u).c_str(),
                fmt(t).c_str(),
                fmt(z).c_str(), fmt(b).c_str(), ratio(c, t).c_str(), ratio(c, z).c_str(),
                ratio(u, c).c_str(), unit.c_str());
  }
  std::printf("\nTargets (issue 9):\n");
  for (auto& t : targets(rs)) {
    const char* verdict = !t.value || !t.limit ? "n/a "
                          : (t.at_least ? *t.value >= *t.limit : *t.value <= *t.limit) ? "met "
                                                                                       : "MISS";
    std::string floor;
    const char* bound = t.at_least ? "ceiling" : "floor";
    bool beyond = t.floor && t.limit && (t.at_least ? *t.limit > *t.floor : *t.limit < *t.floor);
    if (beyond)
      floor = std::string(", ") + (t.at_least ? "above the " : "below the ") + bound + " "
              + fmt(t.floor);
    else if (t.floor)
      floor = std::string(", ") + bound + " " + fmt(t.floor);
    std::printf("  [%s] %-62s crust %s, limit %s%s\n", verdict, t.what.c_str(),
                fmt(t.value).c_str(), fmt(t.limit).c_str(), floor.c_str());
  }
}

void write_json(const bench::results& rs, const bench::options& opt, const std::string& path) {
  nlohmann::json j;
  j["quick"] = opt.quick;
  j["duration_ms"] = opt.duration.count();
  j["allocator"] = CRUST_ALLOCATOR; // every row's: they share one process
  j["many_connections"] = opt.many_connections; // the many_* rows
  j["results"] = nlohmann::json::array();
  for (auto& r : rs)
    j["results"].push_back({{"metric", r.metric}, {"size", r.size}, {"system", r.system},
                            {"value", r.value}, {"unit", r.unit}});
  j["targets"] = nlohmann::json::array();
  for (auto& t : targets(rs)) {
    nlohmann::json x{{"target", t.what}, {"at_least", t.at_least}};
    x["value"] = t.value ? nlohmann::json(*t.value) : nlohmann::json(nullptr);
    x["limit"] = t.limit ? nlohmann::json(*t.limit) : nlohmann::json(nullptr);
    if (t.floor)
      x[t.at_least ? "ceiling" : "floor"] = *t.floor;
    j["targets"].push_back(x);
  }
  std::ofstream(path) << j.dump(2) << "\n";
}

void write_csv(const bench::results& rs, const std::string& path) {
  std::ofstream out(path);
  out << "metric,size,system,value,unit\n";
  for (auto& r : rs)
    out << r.metric << "," << r.size << "," << r.system << "," << r.value << "," << r.unit << "\n";
}

std::vector<size_t> parse_list(const std::string& text) {
  std::vector<size_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(std::stoul(item));
  return out;
}

constexpr const char* usage_text =
  "usage: crust-bench [--quick] [--duration-ms N] [--only crypto,crust,tcp,zmq,memory]\n"
  "                   [--json FILE] [--csv FILE] [--node PATH] [--connections N,N]\n"
  "                   [--sizes N,N] [--many N] [--spin N] [--swarm-nodes N]\n"
  "                   [--help] [--version]\n"
  "  Measures crust (throughput, round trips, set-up, handshakes, memory) beside raw TCP,\n"
  "  ZeroMQ CURVE and libsodium, and prints every target with its standing.\n"
  "  --only also takes crust-tcp or crust-udp: crust over one transport; crust-chacha:\n"
  "   TCP throughput with ChaCha20-Poly1305 only; swarm: --swarm-nodes nodes (1000) in\n"
  "   one process bootstrapping from three seeds (formation time, memory per node).\n"
  "  --spin N: the rtt_spin rows' idle workers poll N times before they sleep, 0 skips\n"
  "   those rows. Exit code 0 when every case ran, 1 when one failed, 2 on bad usage.\n";

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "crust-bench: %s\n%s", why.c_str(), usage_text);
  std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
  // Baselines write to sockets their peers have just shut down: that is an
  // error return to handle, not a reason to die.
  signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0)
    usage("libsodium failed to initialise");
  bench::options opt;
  std::set<std::string> only{"crypto", "crust", "tcp", "zmq", "memory"};
  std::string json_path, csv_path;
  // crust-node sits next to this binary in the build tree.
  std::string self = argv[0];
  auto slash = self.rfind('/');
  opt.node_binary = (slash == std::string::npos ? "." : self.substr(0, slash)) + "/crust-node";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("crust-bench %s\n", CRUST_VERSION);
      return 0;
    } else if (a == "--swarm-nodes") {
      opt.swarm_nodes = std::max<size_t>(4, std::stoul(next()));
    } else if (a == "--quick") {
      opt.quick = true;
      opt.duration = std::chrono::milliseconds(150);
      opt.rtt_rounds = 200;
      opt.setup_rounds = 10;
      opt.idle_connections = {100};
      opt.many_connections = 4;
      opt.swarm_nodes = 50;
    } else if (a == "--many") {
      opt.many_connections = std::max<size_t>(1, std::stoul(next()));
    } else if (a == "--duration-ms") {
      opt.duration = std::chrono::milliseconds(std::stol(next()));
    } else if (a == "--only") {
      only.clear();
      std::stringstream in(next());
      std::string item;
      while (std::getline(in, item, ','))
        only.insert(item);
    } else if (a == "--json") {
      json_path = next();
    } else if (a == "--csv") {
      csv_path = next();
    } else if (a == "--node") {
      opt.node_binary = next();
    } else if (a == "--connections") {
      opt.idle_connections = parse_list(next());
    } else if (a == "--spin") {
      opt.spin_attempts = std::stoul(next());
    } else if (a == "--sizes") {
      opt.sizes = parse_list(next());
    } else {
      usage("unknown option " + a);
    }
  }
  bench::results rs;
  std::vector<std::pair<std::string, std::function<void(const bench::options&, bench::results&)>>>
    suites{{"crypto", bench::run_crypto}, {"tcp", bench::run_tcp}, {"zmq", bench::run_zmq},
           {"crust", bench::run_crust},   {"memory", bench::run_memory},
           {"crust-tcp", [](auto& o, auto& r) { bench::run_crust_over(crust::protocol::tcp, o, r); }},
           {"crust-udp", [](auto& o, auto& r) { bench::run_crust_over(crust::protocol::udp, o, r); }},
           {"crust-chacha", bench::run_crust_chacha}, {"swarm", bench::run_swarm}};
  // Every row runs in this process, so they all allocate alike.
  std::fprintf(stderr, "allocator: %s (crust-node's too)\n", CRUST_ALLOCATOR);
  int failures = 0;
  for (auto& [name, run] : suites) {
    if (!only.count(name))
      continue;
    auto t0 = bench::now_s();
    std::fprintf(stderr, "running %s ...\n", name.c_str());
    try {
      run(opt, rs);
    } catch (std::exception& e) {
      std::fprintf(stderr, "%s failed: %s\n", name.c_str(), e.what());
      ++failures;
    }
    std::fprintf(stderr, "  %s took %.1fs\n", name.c_str(), bench::now_s() - t0);
  }
  print_table(rs);
  if (!json_path.empty())
    write_json(rs, opt, json_path);
  if (!csv_path.empty())
    write_csv(rs, csv_path);
  return failures == 0 ? 0 : 1;
}
