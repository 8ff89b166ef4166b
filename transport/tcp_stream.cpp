#include "transport/tcp_stream.hpp"

#include "transport/address.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

namespace crust {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

/// Buffers gathered into one writev(), at most.
constexpr size_t max_gather = 64;

/// Refused streams lingering now (see `tcp_stream::reject`).
std::atomic<int> lingering{0};

} // namespace

tcp_stream::tcp_stream(tcp::socket socket)
  : socket_(std::move(socket)),
    strand_(asio::make_strand(static_cast<asio::io_context&>(socket_.get_executor().context()))),
    timer_(socket_.get_executor()) {
}

std::shared_ptr<tcp_stream> tcp_stream::adopt(tcp::socket socket) {
  auto result = std::shared_ptr<tcp_stream>(new tcp_stream(std::move(socket)));
  boost::system::error_code err;
  auto remote = result->socket_.remote_endpoint(err);
  if (!err)
    result->remote_ = from_asio(remote);
  auto local = result->socket_.local_endpoint(err);
  if (!err)
    result->local_ = from_asio(local);
  return result;
}

std::shared_ptr<tcp_stream> tcp_stream::make(asio::io_context& io) {
  return std::shared_ptr<tcp_stream>(new tcp_stream(tcp::socket(io)));
}

void tcp_stream::connect(const endpoint& remote, std::chrono::milliseconds timeout,
                         callbacks cbs) {
  asio::post(strand_, [self = shared_from_this(), remote, timeout,
                       cbs = std::move(cbs)]() mutable {
    if (!self->set_target(remote, std::move(cbs)))
      return;
    self->dial_timeout_ = timeout;
    self->dial_until_ = std::chrono::steady_clock::now(); // one try
    self->dial();
  });
}

void tcp_stream::connect_from(const std::string& local_address, uint16_t local_port,
                              const endpoint& remote, std::chrono::milliseconds attempt_timeout,
                              std::chrono::steady_clock::time_point until, callbacks cbs) {
  asio::post(strand_, [self = shared_from_this(), local_address, local_port, remote,
                       attempt_timeout, until, cbs = std::move(cbs)]() mutable {
    if (!self->set_target(remote, std::move(cbs)))
      return;
    boost::system::error_code err;
    auto addr = asio::ip::make_address(local_address, err);
    bool v4 = self->dial_target_->address().is_v4();
    if (err || addr.is_unspecified())
      addr = v4 ? asio::ip::address(asio::ip::address_v4::any())
                : asio::ip::address(asio::ip::address_v6::any());
    if (addr.is_v4() != v4) {
      self->end(ec::invalid_argument, "cannot dial " + to_string(remote) + " from "
                                        + local_address);
      return;
    }
    self->dial_from_ = tcp::endpoint(addr, local_port);
    self->dial_timeout_ = attempt_timeout;
    self->dial_until_ = until;
    self->dial();
  });
}

bool tcp_stream::set_target(const endpoint& remote, callbacks cbs) {
  cbs_ = std::move(cbs);
  remote_ = remote;
  dial_target_ = to_asio_tcp(remote);
  if (!dial_target_)
    end(ec::invalid_argument, "not a numeric address: " + remote.address);
  return dial_target_.has_value();
}

void tcp_stream::dial() {
  ++dial_tries_;
  boost::system::error_code err;
  if (dial_from_) {
    // A fresh socket per try: a failed connect leaves a socket unusable.
    socket_.close(err);
    socket_.open(dial_target_->protocol(), err);
    if (!err)
      socket_.set_option(asio::socket_base::reuse_address(true), err);
    if (!err)
      socket_.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true),
                         err);
    if (!err)
      socket_.bind(*dial_from_, err);
    if (err) {
      end(ec::connect_failed, "cannot dial from port " + std::to_string(dial_from_->port())
                                + ": " + err.message());
      return;
    }
  }
  timer_.expires_after(dial_timeout_);
  timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](auto err) {
    if (!err && !self->ended_ && !self->reading_) {
      self->stop_direct();
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    }
  }));
  socket_.async_connect(*dial_target_, asio::bind_executor(strand_, [self = shared_from_this()](
                                                                      auto err) {
    self->timer_.cancel();
    if (self->ended_ || self->closing_)
      return;
    if (err) {
      auto now = std::chrono::steady_clock::now();
      if (now < self->dial_until_) {
        // Refused (the peer's NAT or host answered before its own SYN went
        // out) or lost: try again, soon but not in a busy loop.
        auto pause = std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(50), self->dial_until_ - now);
        self->timer_.expires_after(pause);
        self->timer_.async_wait(asio::bind_executor(self->strand_, [self](auto err) {
          if (!err && !self->ended_ && !self->closing_)
            self->dial();
        }));
        return;
      }
      auto what = err == asio::error::operation_aborted ? std::string("connect timed out")
                                                        : err.message();
      if (self->dial_tries_ > 1)
        what += " (" + std::to_string(self->dial_tries_) + " tries)";
      self->end(ec::connect_failed, what);
      return;
    }
    boost::system::error_code ignored;
    auto local = self->socket_.local_endpoint(ignored);
    if (!ignored)
      self->local_ = from_asio(local);
    if (self->cbs_.on_connected)
      self->cbs_.on_connected();
    self->on_open();
  }));
}

void tcp_stream::start(callbacks cbs) {
  asio::post(strand_, [self = shared_from_this(), cbs = std::move(cbs)]() mutable {
    self->cbs_ = std::move(cbs);
    self->on_open();
  });
}

void tcp_stream::on_open() {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
  {
    std::lock_guard<std::mutex> guard{direct_mtx_};
    direct_fd_ = socket_.is_open() ? socket_.native_handle() : -1;
  }
  set_direct();
  read_some();
}

void tcp_stream::set_direct() {
  std::lock_guard<std::mutex> guard{direct_mtx_};
  direct_idle_ = write_queue_.empty() && posted_writes_ == 0 && !closing_ && !ended_
                 && direct_fd_ >= 0;
}

void tcp_stream::stop_direct() {
  std::lock_guard<std::mutex> guard{direct_mtx_};
  direct_fd_ = -1;
  direct_idle_ = false;
}

void tcp_stream::read_some() {
  if (reading_ || ended_ || closing_ || unconsumed_.load() >= read_window)
    return;
  reading_ = true;
  // Wait for readability, then read into the loop thread's buffer: an idle
  // connection holds no read buffer of its own.
  socket_.async_wait(
    tcp::socket::wait_read,
    asio::bind_executor(strand_, [self = shared_from_this()](auto err) {
      self->reading_ = false;
      if (self->ended_ || self->closing_)
        return;
      if (err) {
        self->end(ec::io_error, err.message());
        return;
      }
      // A big read is handed over as it is (the loop takes a new buffer);
      // a small one is copied out, so no chunk holds much more than it
      // carries.
      thread_local bytes buf;
      if (buf.size() != read_chunk)
        buf.resize(read_chunk);
      boost::system::error_code read_err;
      auto n = self->socket_.read_some(asio::buffer(buf), read_err);
      if (read_err == asio::error::would_block || read_err == asio::error::try_again) {
        self->read_some();
        return;
      }
      if (read_err) {
        if (read_err == asio::error::eof)
          self->end(ec::closed_by_peer, "end of stream");
        else
          self->end(ec::io_error, read_err.message());
        return;
      }
      self->unconsumed_ += n;
      if (self->cbs_.on_data) {
        if (n >= read_chunk / 2) {
          buf.resize(n);
          self->cbs_.on_data(std::move(buf));
          buf = bytes{};
        } else {
          self->cbs_.on_data(bytes(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n)));
        }
      }
      self->read_some();
    }));
}

void tcp_stream::consumed(size_t n) {
  // Most credit comes back while reading goes on: only the return that takes
  // the count back under the window may find reading paused, and only it
  // wakes the strand (a hand-over to the io thread per chunk read otherwise).
  auto before = unconsumed_.load();
  size_t after = 0;
  do {
    after = before - std::min(n, before);
  } while (!unconsumed_.compare_exchange_weak(before, after));
  if (before >= read_window && after < read_window)
    asio::post(strand_, [self = shared_from_this()] { self->read_some(); });
}

size_t tcp_stream::write(bytes data) {
  if (data.empty())
    return 0;
  size_t sent = 0;
  {
    std::lock_guard<std::mutex> guard{direct_mtx_};
    if (direct_idle_) {
      // Nothing queued: ours go first anyway. The lock keeps the descriptor
      // open (the strand takes it before closing) while we send.
      auto n = ::send(direct_fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0)
        sent = static_cast<size_t>(n);
      if (sent == data.size())
        return sent;
      // A full socket buffer or an error: the strand takes the rest (and
      // meets the error itself).
    }
    direct_idle_ = false;
    ++posted_writes_;
  }
  if (sent > 0)
    data.erase(data.begin(), data.begin() + static_cast<ptrdiff_t>(sent));
  asio::post(strand_, [self = shared_from_this(), data = std::move(data)]() mutable {
    {
      std::lock_guard<std::mutex> guard{self->direct_mtx_};
      --self->posted_writes_;
    }
    if (self->ended_)
      return;
    self->write_queue_.push_back(std::move(data));
    if (self->writing_count_ == 0)
      self->write_some();
  });
  return sent;
}

void tcp_stream::write_some() {
  if (write_queue_.empty()) {
    if (closing_)
      shutdown_now();
    else
      set_direct();
    return;
  }
  write_bufs_.clear();
  size_t total = 0;
  for (auto& chunk : write_queue_) {
    if (write_bufs_.size() == max_gather)
      break;
    write_bufs_.emplace_back(asio::buffer(chunk));
    total += chunk.size();
  }
  writing_count_ = write_bufs_.size();
  asio::async_write(socket_, write_bufs_,
                    asio::bind_executor(strand_, [self = shared_from_this(),
                                                  total](auto err, size_t) {
                      for (size_t i = 0; i < self->writing_count_; ++i)
                        self->write_queue_.pop_front();
                      self->writing_count_ = 0;
                      if (self->ended_) {
                        self->write_queue_.clear();
                        return;
                      }
                      if (err) {
                        self->write_queue_.clear();
                        if (self->closing_)
                          self->shutdown_now();
                        else
                          self->end(ec::io_error, err.message());
                        return;
                      }
                      if (!self->closing_ && self->cbs_.on_written)
                        self->cbs_.on_written(total);
                      self->write_some();
                    }));
}

void tcp_stream::close() {
  {
    // What is written from now on is queued behind what close() follows.
    std::lock_guard<std::mutex> guard{direct_mtx_};
    direct_idle_ = false;
  }
  asio::post(strand_, [self = shared_from_this()] {
    if (self->closing_)
      return;
    self->closing_ = true;
    self->cbs_ = callbacks{};
    self->timer_.cancel();
    if (self->writing_count_ == 0)
      self->write_some();
  });
}

void tcp_stream::reject(bytes last, std::chrono::milliseconds linger) {
  asio::post(strand_, [self = shared_from_this(), last = std::move(last), linger]() mutable {
    if (self->closing_ || self->ended_)
      return;
    self->closing_ = true;
    boost::system::error_code err;
    // A few bytes into an empty socket buffer: sent at once or not at all.
    self->socket_.non_blocking(true, err);
    if (!err)
      asio::write(self->socket_, asio::buffer(last), err);
    if (err || lingering.fetch_add(1) >= max_lingering) {
      if (!err)
        --lingering;
      self->shutdown_now();
      return;
    }
    self->socket_.shutdown(tcp::socket::shutdown_send, err);
    self->timer_.expires_after(linger);
    self->timer_.async_wait(asio::bind_executor(self->strand_, [self](auto) {
      if (!self->ended_) {
        self->ended_ = true;
        --lingering;
        self->shutdown_now();
      }
    }));
    self->discard_until_end(4096);
  });
}

void tcp_stream::discard_until_end(size_t budget) {
  socket_.async_wait(
    tcp::socket::wait_read,
    asio::bind_executor(strand_, [self = shared_from_this(), budget](auto err) {
      if (self->ended_)
        return;
      uint8_t sink[1024];
      boost::system::error_code read_err;
      size_t n = 0;
      if (!err)
        n = self->socket_.read_some(asio::buffer(sink), read_err);
      bool again = !err && (!read_err || read_err == asio::error::would_block
                            || read_err == asio::error::try_again);
      if (again && n < budget) {
        self->discard_until_end(budget - n);
        return;
      }
      // The dialer closed (or sent too much, or the socket failed): done.
      self->ended_ = true;
      --lingering;
      self->timer_.cancel();
      self->shutdown_now();
    }));
}

void tcp_stream::shutdown_now() {
  stop_direct();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void tcp_stream::end(ec reason, const std::string& what) {
  if (ended_)
    return;
  ended_ = true;
  stop_direct();
  // Buffers of a write under way stay alive until its handler runs.
  if (writing_count_ == 0)
    write_queue_.clear();
  boost::system::error_code ignored;
  socket_.close(ignored);
  auto on_end = std::move(cbs_.on_end);
  cbs_ = callbacks{};
  if (on_end)
    on_end(reason, what);
}

} // namespace crust
