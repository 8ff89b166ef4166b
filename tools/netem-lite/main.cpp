// netem-lite: link delay (and jitter) and random loss for the NAT lab on
// kernels without sch_netem. Packets sent to an NFQUEUE are dropped with the
// given probability, or held for the delay and then accepted; verdicts may be
// given late and out of order (see NATLAB notes). The queue does not take GSO
// packets, so the kernel splits a GSO burst before queueing it: loss and
// delay apply per datagram, as on a real link (an iptables `statistic` rule
// would drop a whole burst at once).
//
//   netem-lite --queue N --delay-ms D [--jitter-ms J] [--loss-percent P] [--seed S]
//
// Prints "ready" once bound to the queue; exits cleanly on SIGTERM/SIGINT,
// releasing every held packet first. Runs inside a lab namespace only.

// libc's network headers must come before the kernel's (linux/netfilter.h).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct held_packet {
  clock_type::time_point release;
  uint32_t id;
  bool operator>(const held_packet& other) const { return release > other.release; }
};

struct state {
  std::priority_queue<held_packet, std::vector<held_packet>, std::greater<>> held;
  std::chrono::microseconds delay{0};
  std::chrono::microseconds jitter{0};
  double loss = 0; ///< probability of a drop
  std::mt19937_64 rng{42};
  uint64_t packets = 0;
  uint64_t dropped = 0;
};

volatile sig_atomic_t stop_requested = 0;

void on_signal(int) {
  stop_requested = 1;
}

int on_packet(nfq_q_handle* qh, nfgenmsg*, nfq_data* nfa, void* data) {
  auto* st = static_cast<state*>(data);
  auto* hdr = nfq_get_msg_packet_hdr(nfa);
  if (hdr == nullptr)
    return 0;
  ++st->packets;
  if (st->loss > 0 && std::uniform_real_distribution<double>(0, 1)(st->rng) < st->loss) {
    ++st->dropped;
    return nfq_set_verdict(qh, ntohl(hdr->packet_id), NF_DROP, 0, nullptr);
  }
  auto extra = std::chrono::microseconds(0);
  if (st->jitter.count() > 0) {
    std::uniform_int_distribution<int64_t> dist(-st->jitter.count(), st->jitter.count());
    extra = std::chrono::microseconds(dist(st->rng));
  }
  st->held.push({clock_type::now() + st->delay + extra, ntohl(hdr->packet_id)});
  return 0;
}

void release_due(nfq_q_handle* qh, state& st, bool all) {
  auto now = clock_type::now();
  while (!st.held.empty() && (all || st.held.top().release <= now)) {
    nfq_set_verdict(qh, st.held.top().id, NF_ACCEPT, 0, nullptr);
    st.held.pop();
  }
}

constexpr const char* usage_text =
  "usage: netem-lite --queue N --delay-ms D [--jitter-ms J] [--loss-percent P] [--seed S]\n"
  "  Delays (and drops) the packets an nftables rule hands to NFQUEUE N: the NAT lab's\n"
  "  link delay on kernels without sch_netem. Needs root. --help, --version.\n";

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "netem-lite: %s\n%s", why, usage_text);
  std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::fputs(usage_text, stdout);
      return 0;
    }
    if (std::string(argv[i]) == "--version") {
      std::printf("netem-lite %s\n", CRUST_VERSION);
      return 0;
    }
  }
  state st;
  int queue = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    long value = std::strtol(argv[i + 1], nullptr, 10);
    if (key == "--queue")
      queue = static_cast<int>(value);
    else if (key == "--delay-ms")
      st.delay = std::chrono::milliseconds(value);
    else if (key == "--jitter-ms")
      st.jitter = std::chrono::milliseconds(value);
    else if (key == "--loss-percent")
      st.loss = std::strtod(argv[i + 1], nullptr) / 100.0;
    else if (key == "--seed")
      st.rng.seed(static_cast<uint64_t>(value));
    else
      usage(("unknown option " + key).c_str());
  }
  if (queue < 0 || queue > 65535 || st.delay.count() < 0)
    usage("--queue (0-65535) and --delay-ms are required");
  if (st.loss < 0 || st.loss > 1)
    usage("--loss-percent must be 0 to 100");
  auto* h = nfq_open();
  if (h == nullptr)
    usage("nfq_open failed (needs root and the nfnetlink_queue module)");
  auto* qh = nfq_create_queue(h, static_cast<uint16_t>(queue), &on_packet, &st);
  if (qh == nullptr)
    usage("cannot bind the queue (is it taken?)");
  nfq_set_mode(qh, NFQNL_COPY_META, 0);
  nfq_set_queue_maxlen(qh, 65536);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  std::printf("ready\n");
  std::fflush(stdout);
  int fd = nfq_fd(h);
  std::vector<char> buf(65536 + 4096);
  while (!stop_requested) {
    int timeout_ms = 100;
    if (!st.held.empty()) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        st.held.top().release - clock_type::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(wait.count(), 100)));
    }
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) > 0 && (pfd.revents & POLLIN)) {
      auto n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0)
        nfq_handle_packet(h, buf.data(), static_cast<int>(n));
    }
    release_due(qh, st, false);
  }
  release_due(qh, st, true);
  nfq_destroy_queue(qh);
  nfq_close(h);
  std::printf("stopped after %llu packets, %llu dropped\n",
              static_cast<unsigned long long>(st.packets),
              static_cast<unsigned long long>(st.dropped));
  return 0;
}
