// crust-node: one crust node as a process, driven by JSON lines on stdin and
// reporting JSON lines on stdout. See README.md ("crust-node").

#include "control_protocol.hpp"
#include "controller.hpp"
#include "node_options.hpp"
#include "status_http.hpp"

#include "actors/node.hpp"
#include "transport/handshake_payload.hpp"
#include "transport/identity_file.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <poll.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#ifndef CRUST_VERSION
#  define CRUST_VERSION "0.0.0"
#endif

namespace {

/// The longest control line accepted; longer ones are refused, not buffered.
constexpr size_t max_line_length = 64 * 1024 * 1024;

/// Control-line bytes read but not yet handled, at most: beyond, stdin is
/// not read (the writer blocks), so a fast writer cannot fill the
/// controller's mailbox without bound.
constexpr size_t max_pending_input = 2 * 1024 * 1024;

int signal_pipe[2] = {-1, -1};
std::atomic<int> signals_seen{0};

/// SIGHUP: re-read the configuration file (not a reason to stop).
void on_hangup(int) {
  char c = 'h';
  [[maybe_unused]] auto n = write(signal_pipe[1], &c, 1);
}

void on_signal(int) {
  if (signals_seen.fetch_add(1) > 0)
    _exit(130); // a second Ctrl-C: stop now
  char c = 's';
  [[maybe_unused]] auto n = write(signal_pipe[1], &c, 1);
}

void install_signal_handlers() {
  if (pipe(signal_pipe) != 0) {
    perror("crust-node: pipe");
    std::exit(1);
  }
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction hup = {};
  hup.sa_handler = on_hangup;
  sigemptyset(&hup.sa_mask);
  hup.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &hup, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

/// Creates the directory that will hold the identity file, if needed.
void ensure_parent_directory(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0)
    return;
  std::string dir;
  for (size_t i = 0; i <= slash; ++i) {
    if (path[i] == '/' && !dir.empty())
      mkdir(dir.c_str(), 0700);
    dir += path[i];
  }
}

/// Reads control lines from stdin (when `read_stdin`) and watches for
/// signals, until `stop` is set. EOF or a signal ends the control channel.
void read_input(crust::controller_actor ctrl, bool read_stdin, const std::atomic<bool>& stop,
                const std::function<void(const std::string&)>& emit,
                const std::function<void()>& reload) {
  std::string buffer;
  bool discarding = false;
  char chunk[65536];
  auto pending = std::make_shared<std::atomic<size_t>>(0);
  while (!stop) {
    // Over the bound: wait for the controller (signals still count).
    bool full = pending->load() >= max_pending_input;
    pollfd fds[2] = {{signal_pipe[0], POLLIN, 0}, {read_stdin && !full ? 0 : -1, POLLIN, 0}};
    if (poll(fds, 2, full ? 2 : 200) <= 0)
      continue;
    if (fds[0].revents & POLLIN) {
      char signals[16];
      auto got = read(signal_pipe[0], signals, sizeof(signals));
      bool stopping = false;
      for (ssize_t i = 0; i < got; ++i)
        if (signals[i] == 'h')
          reload();
        else
          stopping = true;
      if (stopping) {
        caf::anon_send(ctrl, crust::input_closed{});
        return;
      }
      continue;
    }
    if (!(fds[1].revents & (POLLIN | POLLHUP)))
      continue;
    auto n = read(0, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      caf::anon_send(ctrl, crust::input_closed{});
      read_stdin = false;
      continue;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (auto nl = buffer.find('\n', start); nl != std::string::npos;
         nl = buffer.find('\n', start)) {
      if (!discarding && nl > start) {
        auto size = nl - start;
        *pending += size;
        std::shared_ptr<void> receipt(nullptr, [pending, size](void*) { *pending -= size; });
        caf::anon_send(ctrl, crust::control_line{buffer.substr(start, size), std::move(receipt)});
      }
      discarding = false;
      start = nl + 1;
    }
    buffer.erase(0, start);
    if (buffer.size() > max_line_length) {
      emit(crust::control::error_event("control line longer than "
                                       + std::to_string(max_line_length) + " bytes, ignored")
             .dump());
      buffer.clear();
      discarding = true;
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  std::string running_ini; // the configuration file's text, for reloads
  if (auto path = crust::node_options::config_file(argc, argv); !path.empty()) {
    std::ifstream f{path, std::ios::binary};
    if (!f) {
      std::cerr << "crust-node: cannot read config file " << path << "\n";
      return 2;
    }
    std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    running_ini = text;
    if (auto problem = crust::node_options::precheck_ini(text)) {
      std::cerr << "crust-node: " << path << ": " << *problem << "\n";
      return 2;
    }
  }
  crust::node_options opts;
  if (auto err = opts.parse(argc, argv, "crust-node.ini")) {
    std::cerr << "crust-node: " << caf::actor_system_config::render(err) << "\n";
    return 2;
  }
  if (opts.cli_helptext_printed)
    return 0;
  if (opts.version) {
    std::cout << "crust-node " CRUST_VERSION " (protocol version "
              << int{crust::protocol_version} << ", Noise_XX_25519_ChaChaPoly_SHA256)\n";
    return 0;
  }
  if (auto unknown = opts.unknown_keys(); !unknown.empty()) {
    for (auto& key : unknown)
      std::cerr << "crust-node: unknown configuration key '" << key << "'\n";
    return 2;
  }
  auto converted = opts.to_node_config();
  if (auto problems = std::get_if<std::vector<std::string>>(&converted)) {
    for (auto& p : *problems)
      std::cerr << "crust-node: bad option " << p << "\n";
    return 2;
  }
  auto cfg = std::get<crust::node_config>(converted);
  auto path = opts.identity_path();
  ensure_parent_directory(path);
  auto loaded = crust::load_or_create_identity(path);
  if (auto err = std::get_if<std::string>(&loaded)) {
    std::cerr << "crust-node: identity: " << *err << "\n";
    return 2;
  }
  auto id = std::get<crust::identity>(loaded);
  install_signal_handlers();
  // Every connection is a file descriptor: take all the system allows.
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  std::mutex out_mutex;
  std::function<void(const std::string&)> emit = [&out_mutex](const std::string& line) {
    std::lock_guard<std::mutex> guard{out_mutex};
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  };
  crust::tune_scheduler(opts);
  {
    caf::actor_system sys{opts};
    std::optional<crust::xor_policy> policy;
    if (opts.routing == "xor") {
      crust::xor_policy_config pc;
      pc.keep = static_cast<size_t>(opts.keep);
      pc.random = static_cast<size_t>(opts.random_peers);
      std::random_device rd;
      policy.emplace(id.id(), pc, (static_cast<uint64_t>(rd()) << 32) ^ rd());
    }
    // metrics-address: the status board the controller refreshes and the
    // HTTP listener serves (checked by to_node_config already).
    std::optional<crust::status_config> status;
    std::unique_ptr<crust::status_http> http;
    std::string http_url;
    if (!opts.metrics_address.empty()) {
      auto [host, port] = *crust::parse_http_address(opts.metrics_address);
      auto board = std::make_shared<crust::status_board>();
      // Never an empty document: the node's id and zeros until the first
      // snapshot, a second later.
      crust::metrics_input first;
      first.id = id.id();
      first.version = CRUST_VERSION;
      board->publish(crust::render_status(first));
      auto started = crust::status_http::start(host, port, board);
      if (auto err = std::get_if<std::string>(&started)) {
        std::cerr << "crust-node: metrics-address: " << *err << "\n";
        return 1;
      }
      http = std::move(std::get<std::unique_ptr<crust::status_http>>(started));
      status = crust::status_config{board, id.id(), CRUST_VERSION};
      auto shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
      http_url = "http://" + shown + ":" + std::to_string(http->port()) + "/";
    }
    auto ctrl = sys.spawn(crust::controller, emit, std::move(policy), std::move(status));
    emit(nlohmann::json{{"event", "started"},
                        {"peer", to_string(id.id())},
                        {"network", cfg.network},
                        {"role", to_string(cfg.role)},
                        {"version", CRUST_VERSION},
                        {"protocol_version", crust::protocol_version}}
           .dump());
    if (http)
      emit(nlohmann::json{{"event", "http_listening"}, {"url", http_url}}.dump());
    crust::node_actor node;
    try {
      node = crust::spawn_node(sys, cfg, id, ctrl);
    } catch (std::exception& e) {
      std::cerr << "crust-node: " << e.what() << "\n";
      caf::anon_send_exit(ctrl, caf::exit_reason::user_shutdown);
      return 1;
    }
    for (auto& e : opts.blacklist_entries())
      caf::anon_send(node, crust::blacklist{e});
    caf::anon_send(ctrl, node);
    std::atomic<bool> stop{false};
    // SIGHUP: re-read the configuration file on the reader's thread, hand
    // the plan (or why not) to the controller.
    auto running_blacklist = opts.blacklist;
    std::function<void()> reload = [ctrl, argc, argv, &running_ini, &running_blacklist]() {
      auto planned = crust::plan_reload(argc, argv, running_ini, running_blacklist);
      crust::reload_request req;
      if (auto err = std::get_if<std::string>(&planned)) {
        req.error = *err;
      } else {
        auto plan = std::make_shared<crust::reload_plan>(std::get<crust::reload_plan>(planned));
        running_ini = plan->ini_text;
        running_blacklist = plan->blacklist;
        req.plan = std::move(plan);
      }
      caf::anon_send(ctrl, std::move(req));
    };
    std::thread reader(read_input, ctrl, opts.control == "stdio", std::cref(stop),
                       std::cref(emit), std::cref(reload));
    sys.await_all_actors_done();
    stop = true;
    reader.join();
  }
  return 0;
}
