#pragma once

// The HTTP listener of `metrics-address`: GET /metrics (Prometheus text),
// GET / (the status page) and GET /status.json, nothing else. Read-only by
// construction (it only copies the status board's documents out), off by
// default, loopback unless told otherwise, and bounded: two worker threads
// and at most four connections waiting for one (the accept loop blocks
// beyond, the kernel's backlog holds the rest), 2 s to read a request, 1 KiB
// of body, 10 requests per connection, 50 requests a second in all (429
// beyond). cpp-httplib (Debian's libcpp-httplib-dev) does the HTTP.

#include "status_page.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <variant>

namespace crust {

class status_http {
public:
  /// Binds `host:port` (port 0: any free one) and serves on a thread of its
  /// own; or says why it could not.
  static std::variant<std::unique_ptr<status_http>, std::string>
  start(const std::string& host, uint16_t port, std::shared_ptr<status_board> board);

  ~status_http(); ///< stops serving and joins the thread

  uint16_t port() const { return port_; }

  struct impl;

private:
  explicit status_http(std::unique_ptr<impl> p, uint16_t port);
  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
};

} // namespace crust
