#include "status_http.hpp"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace crust {

namespace {

constexpr size_t worker_threads = 2;
constexpr size_t max_waiting = 4;
constexpr double requests_per_second = 50;
constexpr double request_burst = 100;

/// cpp-httplib's thread pool queues without bound; this one makes the
/// accept loop wait instead (each queued job owns an accepted socket).
class bounded_pool : public httplib::TaskQueue {
public:
  bounded_pool() {
    for (size_t i = 0; i < worker_threads; ++i)
      threads_.emplace_back([this] { run(); });
  }

  ~bounded_pool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock{mtx_};
    space_.wait(lock, [this] { return jobs_.size() < max_waiting || stopping_; });
    jobs_.push_back(std::move(fn));
    work_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopping_ && threads_.empty())
        return;
      stopping_ = true;
    }
    work_.notify_all();
    space_.notify_all();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
    threads_.clear();
  }

private:
  void run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock{mtx_};
        work_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty())
          return; // stopping, and nothing left (queued sockets are served first)
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      space_.notify_one();
      fn();
    }
  }

  std::mutex mtx_;
  std::condition_variable work_;
  std::condition_variable space_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

/// One token bucket for all clients: the listener is for a scraper and a
/// person or two, not a crowd.
class rate_limit {
public:
  bool allow() {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(request_burst,
                       tokens_ + requests_per_second
                                   * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    if (tokens_ < 1)
      return false;
    tokens_ -= 1;
    return true;
  }

private:
  std::mutex mtx_;
  double tokens_ = request_burst;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

} // namespace

struct status_http::impl {
  httplib::Server server;
  rate_limit limit;
  std::shared_ptr<status_board> board;
  std::thread thread;
};

std::variant<std::unique_ptr<status_http>, std::string>
status_http::start(const std::string& host, uint16_t port, std::shared_ptr<status_board> board) {
  auto p = std::make_unique<impl>();
  p->board = std::move(board);
  auto& svr = p->server;
  svr.new_task_queue = [] { return new bounded_pool; };
  svr.set_read_timeout(2, 0);
  svr.set_write_timeout(2, 0);
  svr.set_keep_alive_max_count(10);
  svr.set_keep_alive_timeout(2);
  svr.set_payload_max_length(1024);
  auto* self = p.get();
  svr.set_pre_routing_handler([self](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (!self->limit.allow()) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      res.set_content("too many requests\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content("read-only: GET only\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
    res.set_content(self->board->current()->metrics, "text/plain; version=0.0.4; charset=utf-8");
  });
  svr.Get("/status.json", [self](const httplib::Request&, httplib::Response& res) {
    res.set_content(self->board->current()->json, "application/json");
  });
  auto page = [self](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    res.set_content(self->board->current()->html, "text/html; charset=utf-8");
  };
  svr.Get("/", page);
  svr.Get("/status", page);
  int bound = port;
  if (port == 0)
    bound = svr.bind_to_any_port(host);
  else if (!svr.bind_to_port(host, port))
    bound = -1;
  if (bound <= 0)
    return "cannot listen on " + host + ":" + std::to_string(port);
  p->thread = std::thread([self] { self->server.listen_after_bind(); });
  return std::unique_ptr<status_http>(new status_http(std::move(p), static_cast<uint16_t>(bound)));
}

status_http::status_http(std::unique_ptr<impl> p, uint16_t port)
  : impl_(std::move(p)), port_(port) {
}

status_http::~status_http() {
  impl_->server.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

} // namespace crust
