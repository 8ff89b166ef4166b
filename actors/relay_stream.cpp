#include "actors/relay_stream.hpp"

#include <algorithm>

namespace crust {

relay_stream::relay_stream(uint64_t circuit, sink out, bool open, size_t window)
  : circuit_(circuit), out_(std::move(out)), window_(window), open_(open) {
}

void relay_stream::start(callbacks cbs) {
  std::lock_guard<std::mutex> guard{mtx_};
  cbs_ = std::move(cbs);
  started_ = true;
  if (connect_pending_ && cbs_.on_connected)
    cbs_.on_connected(); // opened before the connection started
  connect_pending_ = false;
  for (auto& chunk : early_)
    if (cbs_.on_data)
      cbs_.on_data(std::move(chunk));
  early_.clear();
}

size_t relay_stream::write(bytes data) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (closed_ || closing_ || data.empty())
    return 0;
  queue_.push_back(std::move(data));
  flush_locked();
  return 0;
}

void relay_stream::flush_locked() {
  while (open_ && !closed_ && !queue_.empty() && in_flight_ < window_) {
    auto& front = queue_.front();
    auto n = std::min({front.size(), max_relay_chunk, window_ - in_flight_});
    relay_msg m;
    m.type = relay_msg::kind::data;
    m.circuit = circuit_;
    if (n == front.size()) {
      m.data = std::move(front);
      queue_.pop_front();
    } else {
      m.data.assign(front.begin(), front.begin() + static_cast<ptrdiff_t>(n));
      front.erase(front.begin(), front.begin() + static_cast<ptrdiff_t>(n));
    }
    in_flight_ += n;
    out_(m);
  }
  if (closing_ && queue_.empty())
    send_close_locked();
}

void relay_stream::send_close_locked() {
  if (closed_)
    return;
  closed_ = true;
  relay_msg m;
  m.type = relay_msg::kind::close;
  m.circuit = circuit_;
  m.reason = ec::closed_by_peer;
  out_(m);
}

void relay_stream::consumed(size_t n) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (closed_ || n == 0)
    return;
  relay_msg m;
  m.type = relay_msg::kind::ack;
  m.circuit = circuit_;
  m.n = static_cast<uint32_t>(std::min<size_t>(n, UINT32_MAX));
  out_(m);
}

void relay_stream::close() {
  std::lock_guard<std::mutex> guard{mtx_};
  cbs_ = callbacks{};
  if (!open_) {
    send_close_locked();
    return;
  }
  closing_ = true;
  flush_locked();
}

void relay_stream::opened() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (open_ || closed_)
    return;
  open_ = true;
  if (!started_)
    connect_pending_ = true;
  else if (cbs_.on_connected)
    cbs_.on_connected();
  flush_locked();
}

void relay_stream::deliver(bytes data) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (closed_ && !closing_)
    return;
  if (!started_) {
    early_.push_back(std::move(data));
    return;
  }
  if (cbs_.on_data)
    cbs_.on_data(std::move(data));
}

void relay_stream::credit(size_t n) {
  std::lock_guard<std::mutex> guard{mtx_};
  n = std::min(n, in_flight_);
  in_flight_ -= n;
  if (n > 0 && cbs_.on_written)
    cbs_.on_written(n);
  flush_locked();
}

void relay_stream::end(ec reason, const std::string& what) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (closed_)
    return;
  closed_ = true;
  queue_.clear();
  if (cbs_.on_end)
    cbs_.on_end(reason, what);
  cbs_ = callbacks{};
}

} // namespace crust
