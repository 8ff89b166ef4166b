#include "transport/io_runtime.hpp"

namespace crust {

io_runtime::io_runtime(size_t threads) : guard_(io_.get_executor()) {
  if (threads == 0)
    threads = 1;
  for (size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { io_.run(); });
}

io_runtime::~io_runtime() {
  guard_.reset();
  io_.stop();
  for (auto& t : threads_) {
    // A handler dropping the last owner would run this destructor on a loop
    // thread: it cannot join itself.
    if (t.get_id() == std::this_thread::get_id())
      t.detach();
    else if (t.joinable())
      t.join();
  }
}

} // namespace crust
