// Many nodes in one process: one CAF actor system, one shared event loop,
// every node a full crust node on loopback with the default limits (so all of
// them dial from one address, 127.0.0.1, as peers behind a carrier-grade NAT
// do). They bootstrap from three seeds given as fallback contacts and learn
// the rest by gossip. Measured: the time until every node has its bootstrap
// target of connections, memory per node, and CPU per idle node.

#include "report.hpp"

#include "actors/node.hpp"
#include "messages/interfaces.hpp"
#include "transport/identity.hpp"
#include "transport/io_runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

namespace bench {

namespace {

using namespace std::chrono_literals;

/// What the routing layers of all nodes saw, shared with the benchmark.
struct tally {
  explicit tally(size_t n) : connected(n), listening(n) {
  }
  std::vector<std::atomic<int>> connected;
  std::vector<std::atomic<uint16_t>> listening;
  std::atomic<uint64_t> refusals{0};
};

crust::routing_actor::behavior_type counting_routing(crust::routing_actor::pointer,
                                                     std::shared_ptr<tally> t, size_t i) {
  return {
    [t, i](crust::connection_up&) { ++t->connected[i]; },
    [t, i](crust::connection_down&) { --t->connected[i]; },
    [t, i](crust::listening& x) {
      for (auto& ep : x.endpoints)
        if (ep.proto == crust::protocol::tcp)
          t->listening[i] = ep.port;
    },
    [t](crust::connect_failed& x) {
      if (x.retry_after_ms > 0)
        ++t->refusals;
    },
    [](crust::path_changed&) {},
    [](crust::message&) {},
    [](crust::alert&) {},
    [](crust::send_failed&) {},
    [](crust::peer_discovered&) {},
    [](crust::bootstrap_status&) {},
    [](crust::connection_info_prepared&) {},
    [](crust::traversal_failed&) {},
  };
}

double rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stod(line.substr(6)) / 1024;
  return 0;
}

} // namespace

void run_swarm(const options& opt, results& rs) {
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  const size_t n = opt.swarm_nodes;
  const size_t seeds = 3;
  const int target = 4;
  caf::actor_system_config cfg;
  configure_scheduler(cfg, 0);
  caf::actor_system sys{cfg};
  auto runtime = std::make_shared<crust::io_runtime>(2);
  auto t = std::make_shared<tally>(n);
  auto base = rss_mib();
  std::vector<crust::node_actor> nodes;
  std::vector<crust::routing_actor> routers;
  crust::node_config nc;
  nc.listen_address = "127.0.0.1";
  nc.runtime = runtime;
  nc.nat.enabled = false;          // no STUN, no reachability checks: loopback only
  nc.discovery.beacon = crust::beacon_mode::off;
  nc.discovery.bootstrap_target = target;
  auto start_node = [&](size_t i, const crust::node_config& c) {
    auto r = sys.spawn(counting_routing, t, i);
    routers.push_back(r);
    nodes.push_back(crust::spawn_node(sys, c, crust::identity::generate(), r));
  };
  auto wait_listening = [&](size_t i) {
    for (int k = 0; k < 2000 && t->listening[i] == 0; ++k)
      std::this_thread::sleep_for(5ms);
    if (t->listening[i] == 0)
      throw std::runtime_error("swarm: node " + std::to_string(i) + " did not listen");
  };
  for (size_t i = 0; i < seeds; ++i) {
    start_node(i, nc);
    wait_listening(i);
  }
  for (size_t i = 0; i < seeds; ++i)
    nc.discovery.fallback_contacts.push_back(
      crust::endpoint{crust::protocol::tcp, "127.0.0.1", t->listening[i].load()});
  auto t0 = now_s();
  for (size_t i = seeds; i < n; ++i)
    start_node(i, nc);
  auto started = now_s() - t0;
  // Formation: every node at its bootstrap target (bounded wait).
  double formed = -1;
  size_t at_target = 0;
  auto limit = opt.quick ? 60.0 : 300.0;
  while (now_s() - t0 < limit) {
    at_target = 0;
    for (size_t i = 0; i < n; ++i)
      at_target += t->connected[i] >= target ? 1 : 0;
    if (at_target == n) {
      formed = now_s() - t0;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  auto rss = rss_mib();
  uint64_t links = 0;
  for (size_t i = 0; i < n; ++i)
    links += static_cast<uint64_t>(std::max(0, t->connected[i].load()));
  // Idle: keepalives, gossip re-announcements and timers only.
  auto cpu0 = cpu_seconds();
  auto w0 = now_s();
  std::this_thread::sleep_for(opt.quick ? 1s : 10s);
  auto idle_cpu = (cpu_seconds() - cpu0) / (now_s() - w0);
  std::fprintf(stderr,
               "  swarm: %zu nodes started in %.1f s; %zu at %d connections after %.1f s "
               "(%s); %llu link ends, %llu refusals with a retry-after; RSS %.0f MiB "
               "(%.1f KiB per node); idle CPU %.3f cores\n",
               n, started, at_target, target, formed < 0 ? now_s() - t0 : formed,
               formed < 0 ? "not all" : "all", static_cast<unsigned long long>(links),
               static_cast<unsigned long long>(t->refusals.load()), rss,
               (rss - base) * 1024 / static_cast<double>(n), idle_cpu);
  rs.push_back({"swarm_nodes", 0, "crust", static_cast<double>(n), "nodes"});
  rs.push_back({"swarm_formation_s", 0, "crust", formed, "s"});
  rs.push_back({"swarm_at_target", 0, "crust", static_cast<double>(at_target), "nodes"});
  rs.push_back({"swarm_links_per_node", 0, "crust", static_cast<double>(links) / n, "links"});
  rs.push_back({"swarm_kib_per_node", 0, "crust", (rss - base) * 1024 / n, "KiB"});
  rs.push_back({"swarm_idle_cpu_per_node", 0, "crust", idle_cpu * 100 / n, "% of a core"});
  for (auto& node : nodes)
    caf::anon_send(node, crust::shutdown_atom::value);
  for (auto& r : routers)
    caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  if (formed < 0)
    throw std::runtime_error("swarm: " + std::to_string(n - at_target) + " of "
                             + std::to_string(n) + " nodes below " + std::to_string(target)
                             + " connections");
}

} // namespace bench
