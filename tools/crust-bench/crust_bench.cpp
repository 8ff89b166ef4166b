// crust itself: two nodes embedded in one actor system, over loopback TCP.
// Throughput is windowed (the receiving routing actor acknowledges in-process,
// so at most `window` bytes are in flight); round trips go through both
// nodes' actors; set-up is connect to first message delivered.

#include "report.hpp"

#include "actors/node.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <future>
#include <thread>

namespace bench {

void configure_scheduler(caf::actor_system_config& cfg, size_t spin_attempts) {
  if (spin_attempts > 0)
    cfg.set("work-stealing.aggressive-poll-attempts", static_cast<int64_t>(spin_attempts));
  crust::tune_scheduler(cfg); // as crust-node does
}

namespace {

using ack_atom = caf::atom_constant<caf::atom("ack")>;
using up_atom = caf::atom_constant<caf::atom("up")>;
using down_atom = caf::atom_constant<caf::atom("down")>;
using got_atom = caf::atom_constant<caf::atom("got")>;

enum class mode : int { count, echo, forward, ping };

/// A round-trip series run by a's routing actor itself, as a routing layer
/// would: each echo is timed and answered with the next ping, no other actor
/// in between (the floor's actor answers its socket's reader the same way).
struct ping_series {
  crust::peer_id peer;
  size_t rounds = 0; ///< samples to take, warm-up included
  double started = 0;
  std::vector<double> samples;
  std::promise<std::vector<double>> done;
};

/// What a probe routing actor does with what it hears.
struct probe_config {
  std::atomic<int> on_message{static_cast<int>(mode::count)};
  std::atomic<uint64_t> msgs{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> ack_every_bytes{1 << 20};
  caf::actor listener;   ///< gets acks / events; set while quiescent
  crust::node_actor node; ///< the node this probe serves (for echoes)
  std::shared_ptr<ping_series> pings; ///< mode::ping; set while quiescent
  /// Sent to a peer the moment it is up, by this routing actor itself, as a
  /// routing layer would; set while quiescent.
  std::shared_ptr<const crust::bytes> send_on_up;
  std::atomic<double> got_at{0}; ///< mode::forward: when the last message came (now_s)
};

/// What a probe does with one message (alone, or one of a batch).
void on_message(caf::scheduled_actor* self, probe_config& cfg, uint64_t& last_ack,
                const crust::peer_id& from, crust::bytes&& payload) {
  switch (static_cast<mode>(cfg.on_message.load())) {
    case mode::count: {
      auto total = cfg.bytes.fetch_add(payload.size()) + payload.size();
      cfg.msgs.fetch_add(1);
      if (total - last_ack >= cfg.ack_every_bytes && cfg.listener) {
        last_ack = total;
        caf::anon_send(cfg.listener, ack_atom::value);
      }
      break;
    }
    case mode::echo:
      crust::post(self, cfg.node, crust::send{from, std::move(payload), 0});
      break;
    case mode::forward:
      cfg.got_at.store(now_s());
      if (cfg.listener)
        caf::anon_send(cfg.listener, got_atom::value, payload.size());
      break;
    case mode::ping: {
      auto& s = *cfg.pings;
      if (s.samples.size() >= s.rounds)
        break;
      s.samples.push_back((now_s() - s.started) * 1e6);
      if (s.samples.size() == s.rounds) {
        s.done.set_value(s.samples);
        break;
      }
      s.started = now_s();
      crust::post(self, cfg.node, crust::send{s.peer, std::move(payload), 0});
      break;
    }
  }
}

/// A routing layer for the benchmark. Handed to `spawn_node` it gets one
/// `message` each; to `spawn_batching_node`, `message_batch`es, whose
/// messages it handles one by one just the same.
crust::batch_routing_actor::behavior_type probe(crust::batch_routing_actor::pointer self,
                                                std::shared_ptr<probe_config> cfg) {
  auto last_ack = std::make_shared<uint64_t>(0);
  return {
    // First: CAF tries the handlers in order, and this one takes nearly
    // every message (the batch handler, every batch).
    [=](crust::message& x) { on_message(self, *cfg, *last_ack, x.peer, std::move(x.payload)); },
    [=](crust::message_batch& x) {
      for (auto& payload : x.payloads)
        on_message(self, *cfg, *last_ack, x.peer, std::move(payload));
    },
    [=](crust::connection_up& x) {
      if (auto payload = cfg->send_on_up)
        crust::post(self, cfg->node, crust::send{x.peer, *payload, 0});
      if (cfg->listener)
        caf::anon_send(cfg->listener, up_atom::value, x.peer);
    },
    [](crust::path_changed&) {},
    [=](crust::connection_down& x) {
      if (cfg->listener)
        caf::anon_send(cfg->listener, down_atom::value, x.peer);
    },
    [](crust::listening&) {},
    [](crust::alert&) {},
    [](crust::connect_failed&) {},
    [](crust::send_failed&) {},
    [](crust::peer_discovered&) {},
    [](crust::bootstrap_status&) {},
    [](crust::connection_info_prepared&) {},
    [](crust::traversal_failed&) {},
  };
}

/// Asks `node` until it listens over `transport` (nodes open their sockets
/// as they start); its endpoint, or port 0 after about 2 s.
crust::endpoint wait_listening(caf::actor_system& sys, const crust::node_actor& node,
                               crust::protocol transport) {
  caf::scoped_actor self{sys};
  crust::endpoint ep;
  for (int i = 0; i < 200 && ep.port == 0; ++i) {
    self->request(node, std::chrono::seconds(5), crust::info_atom::value)
      .receive(
        [&](const crust::node_info& x) {
          for (auto& l : x.listening)
            if (l.proto == transport)
              ep = l;
        },
        [&](caf::error&) {});
    if (ep.port == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ep;
}

struct endpoint_pair {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  crust::identity a_id = crust::identity::generate();
  crust::identity b_id = crust::identity::generate();
  std::shared_ptr<probe_config> a_probe = std::make_shared<probe_config>();
  std::shared_ptr<probe_config> b_probe = std::make_shared<probe_config>();
  crust::node_actor a, b;
  crust::routing_actor a_routing, b_routing;
  crust::endpoint b_ep;
  std::string impl; ///< "crust" (TCP) or "crust-udp" (reliable UDP)
  crust::node_config node_cfg; ///< every node's of this run

  /// `aesgcm`: offer AES-256-GCM (the default); off, ChaCha20-Poly1305 only.
  /// `spin_attempts`: see `configure_scheduler`. `batches`: the nodes hand
  /// their routing actors `message_batch`es (`spawn_batching_node`).
  explicit endpoint_pair(crust::protocol transport = crust::protocol::tcp, bool aesgcm = true,
                         size_t spin_attempts = 0, bool batches = false)
    : impl(transport == crust::protocol::udp ? "crust-udp" : aesgcm ? "crust" : "crust-chacha") {
    configure_scheduler(cfg, spin_attempts);
    sys = std::make_unique<caf::actor_system>(cfg);
    auto& nc = node_cfg;
    nc.listen_address = "127.0.0.1";
    nc.max_message_size = 2 * 1024 * 1024;
    nc.send_queue_limit = 64 * 1024 * 1024;
    // Every benchmark connection comes from 127.0.0.1: the per-address
    // connection rate limit (a DoS defence) would throttle the set-up runs.
    nc.limits.connection_rate = 0;
    // The transport is what is measured: no bootstrap-list exchange (nodes
    // connected to one node would dial each other from its list), gossip or
    // NAT traversal (reachability dial-backs) running beside it.
    nc.discovery.ask_bootstrap_list = false;
    nc.discovery.gossip = false;
    nc.nat.enabled = false;
    nc.aesgcm = aesgcm;
    auto a_probe_actor = sys->spawn(probe, a_probe);
    auto b_probe_actor = sys->spawn(probe, b_probe);
    a_routing = a_probe_actor;
    b_routing = b_probe_actor;
    if (batches) {
      a = crust::spawn_batching_node(*sys, nc, a_id, a_probe_actor);
      b = crust::spawn_batching_node(*sys, nc, b_id, b_probe_actor);
    } else {
      a = crust::spawn_node(*sys, nc, a_id, a_routing);
      b = crust::spawn_node(*sys, nc, b_id, b_routing);
    }
    a_probe->node = a;
    b_probe->node = b;
    b_ep = wait_listening(*sys, b, transport);
    if (b_ep.port == 0) {
      stop();
      throw std::runtime_error("crust: node b did not start listening");
    }
  }

  /// Stops both nodes (they stop when their routing actors go).
  void stop() {
    a_probe->listener = nullptr;
    b_probe->listener = nullptr;
    caf::anon_send_exit(a_routing, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(b_routing, caf::exit_reason::user_shutdown);
  }

  ~endpoint_pair() {
    stop();
  }

  /// Connects a to b and waits for both ends.
  void connect() {
    caf::scoped_actor self{*sys};
    a_probe->listener = caf::actor_cast<caf::actor>(self);
    b_probe->listener = caf::actor_cast<caf::actor>(self);
    caf::anon_send(a, crust::connect{b_ep});
    int ups = 0;
    while (ups < 2)
      self->receive([&](up_atom, const crust::peer_id&) { ++ups; },
                    caf::after(std::chrono::seconds(10)) >> [&] {
                      throw std::runtime_error("crust: nodes did not connect");
                    });
    a_probe->listener = nullptr;
    b_probe->listener = nullptr;
    self->request(a, std::chrono::seconds(5), crust::peers_atom::value)
      .receive(
        [&](const std::vector<crust::peer_info>& xs) {
          for (auto& x : xs)
            std::fprintf(stderr, "  %s: transport cipher %s\n", impl.c_str(), x.cipher.c_str());
        },
        [&](caf::error&) {});
  }
};

/// Keeps `window` bytes in flight to b until told to stop, through the
/// sending nodes in turn (one for the one-connection case).
caf::behavior sender(caf::event_based_actor* self, std::vector<crust::node_actor> from,
                     crust::peer_id b, size_t size, std::shared_ptr<probe_config> sink,
                     std::shared_ptr<std::atomic<uint64_t>> sent,
                     std::shared_ptr<std::atomic<uint64_t>> sent_msgs,
                     std::shared_ptr<std::atomic<bool>> stop) {
  // One window for all the senders, as b receives from them all. A window
  // per sender only queued N times as many messages in the nodes' mailboxes
  // (8 MiB of 64 B messages is 131k of them per node): reliable UDP's first
  // round trips waited behind them, and its many-connection rows measured
  // that start (0.02-0.29 M msgs/s) instead of the transfer.
  auto window = std::max<uint64_t>(8 * 1024 * 1024, 4 * size);
  auto payload = crust::bytes(size, 0x5a);
  auto next = std::make_shared<size_t>(0);
  auto pump = [=] {
    // The receiver's counter is read once per chunk of sends, not once per
    // message: b's routing actor writes it at every message, and reading it
    // each time would move its cache line between the cores at that rate, a
    // cost of this harness rather than of crust (ZeroMQ's and raw TCP's
    // senders never read their receiver's counters).
    while (!*stop) {
      auto in_flight = sent->load() - sink->bytes.load();
      if (in_flight >= window)
        break;
      auto n = std::min<uint64_t>((window - in_flight + size - 1) / size, 1024);
      for (uint64_t i = 0; i < n; ++i)
        crust::post(self, from[(*next)++ % from.size()], crust::send{b, payload, 2});
      *sent += n * size;
      *sent_msgs += n;
    }
  };
  pump();
  return {[=](ack_atom) { pump(); }};
}

/// Messages of `size` from the sending nodes to b, counted at b's routing
/// actor for one measurement window.
window pump_to_b(const options& opt, endpoint_pair& p, std::vector<crust::node_actor> from,
                 size_t size) {
  auto sent = std::make_shared<std::atomic<uint64_t>>(0);
  auto sent_msgs = std::make_shared<std::atomic<uint64_t>>(0);
  auto stop = std::make_shared<std::atomic<bool>>(false);
  p.b_probe->msgs = 0;
  p.b_probe->bytes = 0;
  p.b_probe->on_message = static_cast<int>(mode::count);
  p.b_probe->ack_every_bytes = std::max<uint64_t>(size, 1 << 20);
  auto drv = p.sys->spawn(sender, std::move(from), p.b_id.id(), size, p.b_probe, sent, sent_msgs,
                           stop);
  p.b_probe->listener = drv;
  caf::anon_send(drv, ack_atom::value); // start pumping (the listener is set now)
  auto w = measure_window(opt, p.b_probe->msgs, p.b_probe->bytes, *sent_msgs, *sent);
  *stop = true;
  // Drain what is in flight before the next case.
  for (int i = 0; i < 1000 && p.b_probe->bytes.load() < sent->load(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  p.b_probe->listener = nullptr;
  caf::anon_send_exit(drv, caf::exit_reason::user_shutdown);
  if (auto got = p.b_probe->bytes.load(); got < sent->load())
    throw std::runtime_error(p.impl + ": " + std::to_string(sent->load() - got) + " of "
                             + std::to_string(sent->load())
                             + " bytes sent did not arrive within 10 s");
  return w;
}

/// `prefix`: "throughput", or "batched" for nodes that deliver batches.
void throughput(const options& opt, endpoint_pair& p, size_t size, results& out,
                const std::string& prefix = "throughput") {
  auto w = pump_to_b(opt, p, {p.a}, size);
  add_throughput(out, p.impl, size, w, prefix);
}

/// Many connections: `opt.many_connections` nodes (a and more), one
/// connection each, all sending to b, as many peers would to one node.
void throughput_many(const options& opt, endpoint_pair& p, const std::vector<size_t>& sizes,
                     results& out) {
  std::vector<crust::node_actor> senders{p.a};
  std::vector<std::shared_ptr<probe_config>> probes{p.a_probe, p.b_probe};
  std::vector<crust::routing_actor> routings;
  // The extra nodes stop with their routing actors, also when a case throws
  // (the actor system would wait for them for ever).
  struct stop_extra {
    std::vector<crust::routing_actor>& routings;
    ~stop_extra() {
      for (auto& r : routings)
        caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    }
  } guard{routings};
  for (size_t i = 1; i < opt.many_connections; ++i) {
    auto probe_cfg = std::make_shared<probe_config>();
    routings.push_back(p.sys->spawn(probe, probe_cfg));
    senders.push_back(crust::spawn_node(*p.sys, p.node_cfg, crust::identity::generate(),
                                        routings.back()));
    probe_cfg->node = senders.back();
    probes.push_back(probe_cfg);
  }
  {
    // Both ends of every connection up before anything is sent.
    // A node dials over reliable UDP from its own UDP socket, which it
    // opens as it starts: wait until each one has it.
    for (size_t i = 1; i < senders.size(); ++i)
      wait_listening(*p.sys, senders[i], p.b_ep.proto);
    caf::scoped_actor self{*p.sys};
    for (auto& x : probes)
      x->listener = caf::actor_cast<caf::actor>(self);
    for (size_t i = 1; i < senders.size(); ++i)
      caf::anon_send(senders[i], crust::connect{p.b_ep});
    size_t ups = 0;
    bool late = false;
    // a and b are connected already: 2 ups per new connection.
    while (!late && ups < 2 * (senders.size() - 1))
      self->receive([&](up_atom, const crust::peer_id&) { ++ups; },
                    [](down_atom, const crust::peer_id&) {},
                    caf::after(std::chrono::seconds(20)) >> [&] { late = true; });
    for (auto& x : probes)
      x->listener = nullptr;
    if (late) {
      throw std::runtime_error("crust: the many-connection nodes did not connect ("
                               + std::to_string(ups) + " of "
                               + std::to_string(2 * (senders.size() - 1)) + " ends up)");
    }
  }
  for (auto size : sizes)
    add_throughput(out, p.impl, size, pump_to_b(opt, p, senders, size), "many");
}

/// What a quiet link costs: 64 B messages from a to b 2 ms apart, each
/// handled on its own; row `<prefix>_cpu_us`, the process's CPU time per
/// message (idle workers that poll longer spend it after every message).
void sparse_messages(const options& opt, endpoint_pair& p, results& out,
                     const std::string& prefix) {
  const size_t count = opt.quick ? 50 : 250;
  p.b_probe->msgs = 0;
  p.b_probe->bytes = 0;
  p.b_probe->on_message = static_cast<int>(mode::count);
  std::this_thread::sleep_for(std::chrono::milliseconds(20)); // settle
  auto cpu0 = cpu_seconds();
  for (size_t i = 0; i < count; ++i) {
    caf::anon_send(p.a, crust::send{p.b_id.id(), crust::bytes(64, 1), 0});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto cpu = cpu_seconds() - cpu0;
  for (int i = 0; i < 500 && p.b_probe->msgs.load() < count; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (p.b_probe->msgs.load() < count)
    throw std::runtime_error(p.impl + ": sparse messages did not all arrive");
  out.push_back({prefix + "_cpu_us", 64, p.impl, cpu / static_cast<double>(count) * 1e6,
                 "CPU us"});
}

/// Ping-pong through both nodes' actors: a's routing actor times each echo
/// from b's and sends the next ping (`mode::ping`). Rows `<prefix>_p50_us`,
/// `_p99_us` and `_cpu_us` (the process's CPU time per round trip).
void round_trips(const options& opt, endpoint_pair& p, results& out,
                 const std::string& prefix = "rtt") {
  auto series = std::make_shared<ping_series>();
  series->peer = p.b_id.id();
  series->rounds = opt.rtt_rounds + 20;
  auto result = series->done.get_future();
  p.a_probe->pings = series;
  p.b_probe->on_message = static_cast<int>(mode::echo);
  p.a_probe->on_message = static_cast<int>(mode::ping);
  // The first ping; a's routing actor sends the others.
  auto cpu0 = cpu_seconds();
  series->started = now_s();
  caf::anon_send(p.a, crust::send{series->peer, crust::bytes(64, 1), 0});
  bool ready = result.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  auto cpu = cpu_seconds() - cpu0;
  p.a_probe->on_message = static_cast<int>(mode::count);
  p.b_probe->on_message = static_cast<int>(mode::count);
  if (!ready)
    throw std::runtime_error("crust: round trips did not finish");
  auto samples = result.get();
  auto rounds = static_cast<double>(samples.size());
  samples.erase(samples.begin(), samples.begin() + 20); // warm-up
  add_round_trips(out, prefix, p.impl, samples, cpu, rounds);
}

/// Connect to first message delivered: a's routing actor sends the moment
/// b is up (its own handler, as a routing layer would), and b's routing
/// actor notes when the message arrives; the clock stops there, not when
/// this thread hears of it.
void setup_latency(const options& opt, endpoint_pair& p, results& out,
                   const std::string& prefix = "setup") {
  caf::scoped_actor self{*p.sys};
  auto me = caf::actor_cast<caf::actor>(self);
  p.a_probe->send_on_up = std::make_shared<const crust::bytes>(64, 2);
  p.a_probe->listener = me;
  p.b_probe->listener = me;
  p.b_probe->on_message = static_cast<int>(mode::forward);
  std::vector<double> samples;
  auto timeout = [](const char* what) {
    return caf::after(std::chrono::seconds(10)) >> [what] {
      throw std::runtime_error(std::string("crust setup: no ") + what);
    };
  };
  auto ignore_up = [](up_atom, const crust::peer_id&) {}; // only news here
  for (size_t i = 0; i < opt.setup_rounds; ++i) {
    auto t0 = now_s();
    self->send(p.a, crust::connect{p.b_ep});
    for (bool got = false; !got;)
      self->receive([&](got_atom, size_t) { got = true; }, ignore_up,
                    timeout("first message delivered"));
    samples.push_back((p.b_probe->got_at.load() - t0) * 1e3);
    self->send(p.a, crust::drop{p.b_id.id()});
    for (int downs = 0; downs < 2;)
      self->receive([&](down_atom, const crust::peer_id&) { ++downs; }, ignore_up,
                    timeout("connection_down"));
  }
  p.a_probe->send_on_up = nullptr;
  p.a_probe->listener = nullptr;
  p.b_probe->listener = nullptr;
  p.b_probe->on_message = static_cast<int>(mode::count);
  out.push_back({prefix + "_p50_ms", 0, p.impl, percentile(samples, 50), "ms"});
}

} // namespace

/// The largest message size measured with batched delivery: batches are
/// for small messages (a batch holds at most `crust::max_batch_bytes`).
constexpr size_t max_batched_size = 1024;

void run_crust_over(crust::protocol transport, const options& opt, results& out) {
  {
    endpoint_pair p{transport};
    p.connect();
    for (auto size : opt.sizes)
      throughput(opt, p, size, out);
    round_trips(opt, p, out);
    if (transport == crust::protocol::tcp)
      sparse_messages(opt, p, out, "sparse");
    throughput_many(opt, p, many_sizes(opt), out);
  }
  if (transport == crust::protocol::tcp) {
    // Small messages to a routing layer that takes them in batches (one
    // actor message per batch instead of one each), handled one by one.
    endpoint_pair p{transport, true, 0, true};
    p.connect();
    for (auto size : opt.sizes)
      if (size <= max_batched_size)
        throughput(opt, p, size, out, "batched");
  }
  if (opt.spin_attempts > 0 && transport == crust::protocol::tcp) {
    // The latency a user buys with CPU: idle workers poll longer before
    // they sleep, so a message from an I/O thread finds one awake.
    {
      endpoint_pair p{transport, true, opt.spin_attempts};
      p.connect();
      round_trips(opt, p, out, "rtt_spin");
      sparse_messages(opt, p, out, "sparse_spin");
    }
    endpoint_pair p{transport, true, opt.spin_attempts}; // set-ups start unconnected
    setup_latency(opt, p, out, "setup_spin");
  }
  {
    endpoint_pair p{transport};
    setup_latency(opt, p, out);
  }
}

void run_crust_chacha(const options& opt, results& out) {
  endpoint_pair p{crust::protocol::tcp, false};
  p.connect();
  for (auto size : opt.sizes)
    throughput(opt, p, size, out);
}

void run_crust(const options& opt, results& out) {
  run_crust_over(crust::protocol::tcp, opt, out);
  run_crust_chacha(opt, out);
  run_crust_over(crust::protocol::udp, opt, out);
}

} // namespace bench
