// Resident memory per idle connection: a real crust-node process accepts N
// authenticated connections (each from its own identity, driven by the
// sans-I/O session over a plain socket) and we read its VmRSS before and
// after.

#include "report.hpp"

#include "transport/identity.hpp"
#include "transport/stream_session.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace bench {

namespace {

struct child_node {
  pid_t pid = -1;
  FILE* in = nullptr;
  FILE* out = nullptr;
  uint16_t port = 0;

  explicit child_node(const std::string& binary) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0)
      throw std::runtime_error("memory: pipe failed");
    auto key = "/tmp/crust-bench-" + std::to_string(getpid()) + ".key";
    pid = fork();
    if (pid == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      close(to_child[1]);
      close(from_child[0]);
      execl(binary.c_str(), binary.c_str(), "--listen-address=127.0.0.1",
            ("--identity-file=" + key).c_str(), "--peer-timeout=60s",
            "--keepalive-interval=20s", "--beacon=off", "--bootstrap-cache=none",
            "--no-nat", "--no-gossip",
            // Thousands of connections from one address, many handshaking
            // at once: lift the per-address DoS limits for this measurement.
            "--connection-rate=0", "--max-half-open=100000",
            "--max-half-open-per-address=100000", "--max-connections=1000000",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    in = fdopen(to_child[1], "w");
    out = fdopen(from_child[0], "r");
    char line[4096];
    while (port == 0 && fgets(line, sizeof(line), out)) {
      auto ev = nlohmann::json::parse(line, nullptr, false);
      if (ev.is_object() && ev.value("event", "") == "listening" && !ev["endpoints"].empty()) {
        auto ep = ev["endpoints"][0].get<std::string>();
        port = static_cast<uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
      }
    }
    unlink(key.c_str());
    if (port == 0)
      throw std::runtime_error("memory: crust-node did not start (" + binary + ")");
  }

  ~child_node() {
    if (in) {
      fputs("{\"cmd\":\"quit\"}\n", in);
      fflush(in);
      fclose(in);
    }
    // Drain its output so it never blocks on a full pipe while stopping.
    char line[4096];
    while (out && fgets(line, sizeof(line), out)) {
    }
    if (out)
      fclose(out);
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
  }

  double rss_kib() const {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (f >> key) {
      if (key == "VmRSS:") {
        double kib;
        f >> kib;
        return kib;
      }
      f.ignore(4096, '\n');
    }
    return 0;
  }
};

/// One client connection: a socket and its authenticated session.
struct client {
  int fd = -1;
  std::unique_ptr<crust::identity> id;
  std::unique_ptr<crust::stream_session> session;
};

void handshake(client& c, uint16_t port) {
  c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    throw std::runtime_error("memory: connect failed (fd limit?)");
  c.id = std::make_unique<crust::identity>(crust::identity::generate());
  auto now = crust::stream_session::clock::now();
  c.session = std::make_unique<crust::stream_session>(crust::session_config{}, *c.id, true, now);
  uint8_t buf[4096];
  for (int round = 0; round < 8; ++round) {
    crust::bytes outgoing;
    c.session->poll_transmit(outgoing, 1 << 16, now);
    if (!outgoing.empty() && ::write(c.fd, outgoing.data(), outgoing.size()) < 0)
      throw std::runtime_error("memory: write failed");
    if (c.session->current_state() == crust::stream_session::state::established)
      return;
    auto n = ::read(c.fd, buf, sizeof(buf));
    if (n <= 0)
      throw std::runtime_error("memory: handshake with crust-node failed");
    c.session->handle_data(buf, static_cast<size_t>(n), now);
  }
  throw std::runtime_error("memory: handshake did not finish");
}

} // namespace

void run_memory(const options& opt, results& out) {
  if (opt.node_binary.empty() || access(opt.node_binary.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "memory: no crust-node binary at '%s': skipped\n", opt.node_binary.c_str());
    return;
  }
  rlimit lim;
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  for (auto n : opt.idle_connections) {
    if (n + 64 > lim.rlim_cur) {
      std::fprintf(stderr, "memory: %zu connections need more file descriptors than the "
                           "limit (%llu): skipped\n", n, static_cast<unsigned long long>(lim.rlim_cur));
      continue;
    }
    child_node node(opt.node_binary);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto before = node.rss_kib();
    std::deque<client> clients(n);
    for (auto& c : clients)
      handshake(c, node.port);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto after = node.rss_kib();
    out.push_back({"memory_per_conn_kib", n, "crust", (after - before) / static_cast<double>(n),
                   "KiB"});
    for (auto& c : clients)
      ::close(c.fd);
  }
}

} // namespace bench
