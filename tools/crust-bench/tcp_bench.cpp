// Raw TCP with the same program shape and no crypto: length-prefixed
// messages over one loopback connection, small ones gathered into one
// writev, a reader that parses the frames. The floor crust is measured from.

#include "report.hpp"

#include "actors/node.hpp" // tune_scheduler

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

namespace bench {

namespace {

struct socket_pair {
  int client = -1;
  int server = -1;
  double connect_to_accept_s = 0;

  socket_pair() {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(listener, 1) != 0)
      throw std::runtime_error("tcp: cannot listen on loopback");
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(client, reinterpret_cast<sockaddr*>(&addr), len) != 0)
      throw std::runtime_error("tcp: cannot connect");
    server = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }

  ~socket_pair() {
    ::close(client);
    ::close(server);
  }
};

bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    auto w = ::write(fd, p, n);
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    auto r = ::read(fd, p, n);
    if (r <= 0)
      return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

/// `conns` connections, each with a writer and a reader thread; the
/// counters sum over all of them.
void throughput(const options& opt, size_t size, size_t conns, results& out,
                const std::string& prefix) {
  std::vector<std::unique_ptr<socket_pair>> pairs;
  for (size_t i = 0; i < conns; ++i)
    pairs.push_back(std::make_unique<socket_pair>());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> msgs{0}, bytes{0}, sent_msgs{0}, sent_bytes{0};
  auto read_frames = [&](int fd) {
    std::vector<uint8_t> buf(256 * 1024);
    std::vector<uint8_t> msg;
    size_t have = 0;
    for (;;) {
      auto r = ::read(fd, buf.data() + have, buf.size() - have);
      if (r <= 0)
        return;
      have += static_cast<size_t>(r);
      size_t pos = 0;
      while (have - pos >= 4) {
        uint32_t n;
        std::memcpy(&n, buf.data() + pos, 4);
        if (have - pos - 4 < n) {
          if (n + 4 > buf.size())
            buf.resize(n + 4);
          break;
        }
        msg.assign(buf.begin() + static_cast<ptrdiff_t>(pos + 4),
                   buf.begin() + static_cast<ptrdiff_t>(pos + 4 + n)); // deliver: one copy
        msgs.fetch_add(1, std::memory_order_relaxed);
        bytes.fetch_add(n, std::memory_order_relaxed);
        pos += 4 + n;
      }
      std::memmove(buf.data(), buf.data() + pos, have - pos);
      have -= pos;
    }
  };
  auto write_batches = [&](int fd) {
    std::vector<uint8_t> payload(size, 0x5a);
    uint32_t n = static_cast<uint32_t>(size);
    // Gather up to 64 KiB of small messages per writev, as crust's frames do.
    size_t per_batch = std::max<size_t>(1, std::min<size_t>(512, 65536 / (size + 4)));
    std::vector<iovec> iov(per_batch * 2);
    for (size_t i = 0; i < per_batch; ++i) {
      iov[2 * i] = {&n, 4};
      iov[2 * i + 1] = {payload.data(), size};
    }
    while (!stop) {
      size_t total = per_batch * (size + 4);
      auto w = ::writev(fd, iov.data(), static_cast<int>(iov.size()));
      if (w <= 0)
        return;
      if (static_cast<size_t>(w) < total) {
        // Finish the partial batch byte by byte through the iovecs.
        size_t done = static_cast<size_t>(w);
        for (auto& v : iov) {
          if (done >= v.iov_len) {
            done -= v.iov_len;
            continue;
          }
          if (!write_all(fd, static_cast<uint8_t*>(v.iov_base) + done, v.iov_len - done))
            return;
          done = 0;
        }
      }
      sent_msgs.fetch_add(per_batch, std::memory_order_relaxed);
      sent_bytes.fetch_add(per_batch * size, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> threads;
  for (auto& sp : pairs) {
    threads.emplace_back(read_frames, sp->server);
    threads.emplace_back(write_batches, sp->client);
  }
  auto w = measure_window(opt, msgs, bytes, sent_msgs, sent_bytes);
  stop = true;
  for (auto& sp : pairs) {
    ::shutdown(sp->client, SHUT_RDWR);
    ::shutdown(sp->server, SHUT_RDWR);
  }
  for (auto& t : threads)
    t.join();
  add_throughput(out, "tcp", size, w, prefix);
}

void round_trips(const options& opt, results& out) {
  socket_pair sp;
  std::thread echo([&] {
    uint8_t buf[68];
    while (read_all(sp.server, buf, sizeof(buf)))
      if (!write_all(sp.server, buf, sizeof(buf)))
        return;
  });
  uint8_t msg[68] = {64};
  std::vector<double> samples;
  for (size_t i = 0; i < opt.rtt_rounds + 20; ++i) {
    auto t0 = now_s();
    if (!write_all(sp.client, msg, sizeof(msg)) || !read_all(sp.client, msg, sizeof(msg)))
      throw std::runtime_error("tcp: echo failed");
    if (i >= 20)
      samples.push_back((now_s() - t0) * 1e6);
  }
  ::shutdown(sp.client, SHUT_RDWR);
  echo.join();
  out.push_back({"rtt_p50_us", 64, "tcp", percentile(samples, 50), "us"});
  out.push_back({"rtt_p99_us", 64, "tcp", percentile(samples, 99), "us"});
}

using echo_atom = caf::atom_constant<caf::atom("echo")>;
using start_atom = caf::atom_constant<caf::atom("start")>;

bool reply(int fd) {
  uint8_t msg[68] = {64};
  return write_all(fd, msg, sizeof(msg));
}

// The actors take their state as spawn arguments: CAF 0.17 dereferences a
// null argument tuple for a functor spawned without any (UBSan reports it).
caf::behavior echo_actor(caf::event_based_actor*, int fd) {
  return {[=](echo_atom) { reply(fd); }};
}

caf::behavior ping_actor(caf::event_based_actor* self, int fd, size_t rounds,
                         std::shared_ptr<std::promise<std::vector<double>>> done) {
  auto samples = std::make_shared<std::vector<double>>();
  auto started = std::make_shared<double>(0);
  return {
    [=](start_atom) {
      *started = now_s();
      reply(fd);
    },
    [=](echo_atom) {
      samples->push_back((now_s() - *started) * 1e6);
      if (samples->size() < rounds) {
        *started = now_s();
        reply(fd);
        return;
      }
      samples->erase(samples->begin(), samples->begin() + 20); // warm-up
      done->set_value(std::move(*samples));
      self->quit();
    },
  };
}

/// The round-trip floor of any design with an actor at each end (crust's
/// routing layers are actors): raw TCP, a thread blocked on each socket
/// hands every message to its end's actor, which writes the reply itself.
/// Two kernel trips and two thread-to-actor hand-offs per round trip, no
/// crypto, no framing, no manager: crust's path has these and more.
void actor_round_trips(const options& opt, results& out, size_t spin_attempts = 0,
                       const std::string& prefix = "rtt") {
  socket_pair sp;
  caf::actor_system_config cfg;
  configure_scheduler(cfg, spin_attempts); // as crust's run
  caf::actor_system sys{cfg};
  auto echo = sys.spawn(echo_actor, sp.server);
  auto done = std::make_shared<std::promise<std::vector<double>>>();
  auto result = done->get_future();
  auto driver = sys.spawn(ping_actor, sp.client, opt.rtt_rounds + 20, done);
  auto reader = [](int fd, caf::actor to) {
    uint8_t buf[68];
    while (read_all(fd, buf, sizeof(buf)))
      caf::anon_send(to, echo_atom::value);
  };
  std::thread server_reader(reader, sp.server, echo);
  std::thread client_reader(reader, sp.client, driver);
  auto cpu0 = cpu_seconds();
  caf::anon_send(driver, start_atom::value);
  auto ready = result.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  auto cpu = cpu_seconds() - cpu0;
  ::shutdown(sp.client, SHUT_RDWR);
  ::shutdown(sp.server, SHUT_RDWR);
  server_reader.join();
  client_reader.join();
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
  if (!ready)
    throw std::runtime_error("tcp: actor round trips did not finish");
  auto samples = result.get();
  auto rounds = static_cast<double>(opt.rtt_rounds + 20);
  add_round_trips(out, prefix, "bound", samples, cpu, rounds);
}

void setup_latency(const options& opt, results& out) {
  std::vector<double> samples;
  for (size_t i = 0; i < opt.setup_rounds; ++i) {
    auto t0 = now_s();
    socket_pair sp;
    uint8_t msg[68] = {64};
    if (!write_all(sp.client, msg, sizeof(msg)) || !read_all(sp.server, msg, sizeof(msg)))
      throw std::runtime_error("tcp: first message failed");
    samples.push_back((now_s() - t0) * 1e3);
  }
  out.push_back({"setup_p50_ms", 0, "tcp", percentile(samples, 50), "ms"});
}

} // namespace

void run_tcp(const options& opt, results& out) {
  for (auto size : opt.sizes)
    throughput(opt, size, 1, out, "throughput");
  for (auto size : many_sizes(opt))
    throughput(opt, size, opt.many_connections, out, "many");
  round_trips(opt, out);
  actor_round_trips(opt, out);
  if (opt.spin_attempts > 0)
    actor_round_trips(opt, out, opt.spin_attempts, "rtt_spin");
  setup_latency(opt, out);
}

} // namespace bench
