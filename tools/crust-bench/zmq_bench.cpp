// ZeroMQ with CURVE encryption, the established encrypted-messaging
// alternative: PUSH/PULL for throughput, PAIR for round trips, a new socket
// pair per connect for set-up latency.

#include "report.hpp"

#include <zmq.h>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bench {

namespace {

struct curve_keys {
  char server_public[41], server_secret[41], client_public[41], client_secret[41];
  curve_keys() {
    if (zmq_curve_keypair(server_public, server_secret) != 0
        || zmq_curve_keypair(client_public, client_secret) != 0)
      throw std::runtime_error("zmq: CURVE is not available in this libzmq");
  }
};

void* curve_server(void* ctx, int type, const curve_keys& k) {
  void* s = zmq_socket(ctx, type);
  int one = 1;
  zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one));
  zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k.server_secret, 40);
  return s;
}

void* curve_client(void* ctx, int type, const curve_keys& k) {
  void* s = zmq_socket(ctx, type);
  zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, k.server_public, 40);
  zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, k.client_public, 40);
  zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k.client_secret, 40);
  return s;
}

std::string bind_any(void* s) {
  if (zmq_bind(s, "tcp://127.0.0.1:*") != 0)
    throw std::runtime_error("zmq: bind failed");
  char ep[256];
  size_t len = sizeof(ep);
  zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len);
  return ep;
}

void set_timeouts(void* s, int ms) {
  zmq_setsockopt(s, ZMQ_RCVTIMEO, &ms, sizeof(ms));
  zmq_setsockopt(s, ZMQ_SNDTIMEO, &ms, sizeof(ms));
  int zero = 0;
  zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
}

/// A CURVE server socket bound to a loopback port and a client for it; the
/// caller connects the client to `endpoint` (so it can time the connect).
struct curve_pair {
  void* server;
  void* client;
  std::string endpoint;

  curve_pair(void* ctx, const curve_keys& k, int server_type, int client_type, int timeout_ms)
    : server(curve_server(ctx, server_type, k)) {
    set_timeouts(server, timeout_ms);
    endpoint = bind_any(server);
    client = curve_client(ctx, client_type, k);
    set_timeouts(client, timeout_ms);
  }

  void connect() { zmq_connect(client, endpoint.c_str()); }

  ~curve_pair() {
    zmq_close(client);
    zmq_close(server);
  }
};

/// Receives on `pull` until `stop`, counting messages and bytes.
void count_messages(void* pull, const std::atomic<bool>& stop, std::atomic<uint64_t>& msgs,
                    std::atomic<uint64_t>& bytes) {
  zmq_msg_t m;
  zmq_msg_init(&m);
  while (!stop) {
    int n = zmq_msg_recv(&m, pull, 0);
    if (n >= 0) {
      msgs.fetch_add(1, std::memory_order_relaxed);
      bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    }
  }
  zmq_msg_close(&m);
}

/// `conns` PUSH sockets, each sending from its own thread, into one PULL
/// socket (one reader): one connection, or many peers sending to one node.
void throughput(const options& opt, void* ctx, const curve_keys& k, size_t size, size_t conns,
                results& out, const std::string& prefix) {
  void* pull = curve_server(ctx, ZMQ_PULL, k);
  set_timeouts(pull, 200);
  auto ep = bind_any(pull);
  std::vector<void*> pushes;
  for (size_t i = 0; i < conns; ++i) {
    void* push = curve_client(ctx, ZMQ_PUSH, k);
    set_timeouts(push, 200);
    zmq_connect(push, ep.c_str());
    pushes.push_back(push);
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> msgs{0}, bytes{0}, sent_msgs{0}, sent_bytes{0};
  std::thread reader(count_messages, pull, std::ref(stop), std::ref(msgs), std::ref(bytes));
  std::vector<std::thread> writers;
  for (auto push : pushes)
    writers.emplace_back([&, push] {
      std::vector<char> payload(size, 0x5a);
      while (!stop)
        if (zmq_send(push, payload.data(), size, 0) >= 0) {
          sent_msgs.fetch_add(1, std::memory_order_relaxed);
          sent_bytes.fetch_add(size, std::memory_order_relaxed);
        }
    });
  auto w = measure_window(opt, msgs, bytes, sent_msgs, sent_bytes);
  stop = true;
  for (auto& t : writers)
    t.join();
  reader.join();
  for (auto push : pushes)
    zmq_close(push);
  zmq_close(pull);
  add_throughput(out, "zmq-curve", size, w, prefix);
}

void round_trips(const options& opt, void* ctx, const curve_keys& k, results& out) {
  curve_pair sockets(ctx, k, ZMQ_PAIR, ZMQ_PAIR, 5000);
  sockets.connect();
  void* server = sockets.server;
  void* client = sockets.client;
  std::thread echo([&] {
    char buf[64];
    for (size_t i = 0; i < opt.rtt_rounds + 20; ++i) {
      if (zmq_recv(server, buf, sizeof(buf), 0) < 0 || zmq_send(server, buf, sizeof(buf), 0) < 0)
        return;
    }
  });
  char msg[64] = {1};
  std::vector<double> samples;
  for (size_t i = 0; i < opt.rtt_rounds + 20; ++i) {
    auto t0 = now_s();
    if (zmq_send(client, msg, sizeof(msg), 0) < 0 || zmq_recv(client, msg, sizeof(msg), 0) < 0)
      throw std::runtime_error("zmq: echo failed");
    if (i >= 20)
      samples.push_back((now_s() - t0) * 1e6);
  }
  echo.join();
  out.push_back({"rtt_p50_us", 64, "zmq-curve", percentile(samples, 50), "us"});
  out.push_back({"rtt_p99_us", 64, "zmq-curve", percentile(samples, 99), "us"});
}

void setup_latency(const options& opt, void* ctx, const curve_keys& k, results& out) {
  std::vector<double> samples;
  for (size_t i = 0; i < opt.setup_rounds; ++i) {
    curve_pair sockets(ctx, k, ZMQ_PULL, ZMQ_PUSH, 5000);
    char msg[64] = {2};
    auto t0 = now_s();
    sockets.connect();
    zmq_send(sockets.client, msg, sizeof(msg), 0);
    if (zmq_recv(sockets.server, msg, sizeof(msg), 0) < 0)
      throw std::runtime_error("zmq: first message lost");
    samples.push_back((now_s() - t0) * 1e3);
  }
  out.push_back({"setup_p50_ms", 0, "zmq-curve", percentile(samples, 50), "ms"});
}

} // namespace

void run_zmq(const options& opt, results& out) {
  void* ctx = zmq_ctx_new();
  curve_keys keys;
  for (auto size : opt.sizes)
    throughput(opt, ctx, keys, size, 1, out, "throughput");
  for (auto size : many_sizes(opt))
    throughput(opt, ctx, keys, size, opt.many_connections, out, "many");
  round_trips(opt, ctx, keys, out);
  setup_latency(opt, ctx, keys, out);
  zmq_ctx_term(ctx);
}

} // namespace bench
