#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>
#include <vector>

namespace crust {

/// The node's own Boost.Asio event loop: an io_context run by `threads`
/// threads that it owns. Destroying it stops the loop and joins the threads;
/// every socket on it must belong to an owner that also holds the runtime,
/// so no socket outlives it.
class io_runtime {
public:
  explicit io_runtime(size_t threads = 1);
  ~io_runtime();

  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  boost::asio::io_context& context() { return io_; }

private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

} // namespace crust
