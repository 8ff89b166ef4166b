#include "transport/datagram_socket.hpp"

#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>

#include <sys/socket.h>

namespace crust {

namespace asio = boost::asio;

datagram_socket::datagram_socket(asio::io_context& io, udp::socket socket)
  : socket_(std::move(socket)), strand_(asio::make_strand(io)) {
}

std::shared_ptr<datagram_socket> datagram_socket::open(asio::io_context& io,
                                                       const udp::endpoint& local,
                                                       options opts) {
  udp::socket s{io};
  s.open(local.protocol());
  if (local.address().is_v6())
    s.set_option(asio::ip::v6_only(opts.v6_only));
  if (opts.reuse) {
    s.set_option(asio::socket_base::reuse_address(true));
    int one = 1;
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  }
  if (opts.broadcast)
    s.set_option(asio::socket_base::broadcast(true));
  if (opts.buffer_bytes > 0) {
    // The kernel caps these at net.core.[rw]mem_max; a smaller buffer works too.
    boost::system::error_code ignored;
    s.set_option(asio::socket_base::receive_buffer_size(opts.buffer_bytes), ignored);
    s.set_option(asio::socket_base::send_buffer_size(opts.buffer_bytes), ignored);
  }
  if (local.address().is_v6()) {
    s.set_option(asio::ip::multicast::hops(opts.multicast_hops));
    s.set_option(asio::ip::multicast::enable_loopback(true));
  }
  s.bind(local);
  auto result = std::shared_ptr<datagram_socket>(new datagram_socket(io, std::move(s)));
  result->local_ = result->socket_.local_endpoint();
  return result;
}

bool datagram_socket::join_v6(const std::string& group, unsigned index) {
  boost::system::error_code err;
  auto addr = asio::ip::make_address_v6(group, err);
  if (err)
    return false;
  socket_.set_option(asio::ip::multicast::join_group(addr, index), err);
  return !err;
}

void datagram_socket::start(handler on_datagram, size_t max_size) {
  auto self = shared_from_this();
  asio::post(strand_, [self, h = std::move(on_datagram), max_size]() mutable {
    self->handler_ = std::move(h);
    self->buffer_.resize(max_size + 1);
    self->receive();
  });
}

void datagram_socket::start_batched(batch_handler on_batch, size_t max_size) {
  auto self = shared_from_this();
  asio::post(strand_, [self, h = std::move(on_batch), max_size]() mutable {
    self->batch_handler_ = std::move(h);
    self->buffer_.resize(max_size + 1);
    self->socket_.non_blocking(true);
    self->receive();
  });
}

void datagram_socket::receive() {
  auto self = shared_from_this();
  socket_.async_receive_from(
    asio::buffer(buffer_), from_,
    asio::bind_executor(strand_, [self](boost::system::error_code err, size_t n) {
      if (self->closed_ || err == asio::error::operation_aborted)
        return;
      auto take = [&](size_t len) {
        return bytes(self->buffer_.begin(), self->buffer_.begin() + static_cast<ptrdiff_t>(len));
      };
      if (self->batch_handler_) {
        std::vector<std::pair<bytes, udp::endpoint>> batch;
        if (!err && n < self->buffer_.size())
          batch.emplace_back(take(n), self->from_);
        // Whatever else is already waiting goes in the same hand-off.
        while (batch.size() < max_batch) {
          boost::system::error_code e2;
          auto m = self->socket_.receive_from(asio::buffer(self->buffer_), self->from_, 0, e2);
          if (e2)
            break;
          if (m < self->buffer_.size())
            batch.emplace_back(take(m), self->from_);
        }
        if (!batch.empty())
          self->batch_handler_(std::move(batch));
      } else if (!err && n < self->buffer_.size() && self->handler_) {
        self->handler_(take(n), self->from_);
      }
      if (!self->closed_)
        self->receive();
    }));
}

void datagram_socket::send_batch(std::vector<bytes> data, udp::endpoint to) {
  auto self = shared_from_this();
  asio::post(strand_, [self, data = std::move(data), to]() mutable {
    if (self->closed_)
      return;
    for (auto& d : data) {
      boost::system::error_code err;
      self->socket_.send_to(asio::buffer(d), to, 0, err);
      if (err == asio::error::would_block || err == asio::error::try_again) {
        // The socket buffer is full: the rest goes asynchronously.
        auto buf = std::make_shared<bytes>(std::move(d));
        self->socket_.async_send_to(asio::buffer(*buf), to,
                                    asio::bind_executor(self->strand_,
                                                        [buf, self](boost::system::error_code,
                                                                    size_t) {}));
      }
    }
  });
}

void datagram_socket::send_to(bytes data, udp::endpoint to) {
  auto self = shared_from_this();
  asio::post(strand_, [self, data = std::move(data), to]() mutable {
    if (self->closed_)
      return;
    auto buf = std::make_shared<bytes>(std::move(data));
    self->socket_.async_send_to(asio::buffer(*buf), to,
                                asio::bind_executor(self->strand_,
                                                    [buf, self](boost::system::error_code,
                                                                size_t) {}));
  });
}

void datagram_socket::close() {
  auto self = shared_from_this();
  asio::post(strand_, [self] {
    self->closed_ = true;
    self->handler_ = nullptr;
    self->batch_handler_ = nullptr;
    boost::system::error_code ignored;
    self->socket_.close(ignored);
  });
}

} // namespace crust
