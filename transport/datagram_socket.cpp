#include "transport/datagram_socket.hpp"

#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>

#include "transport/gso_plan.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
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
  if (opts.dont_fragment) {
    // Best effort: the IPv4 option also covers IPv4 traffic on a dual-stack
    // IPv6 socket.
    int v4 = IP_PMTUDISC_PROBE;
    ::setsockopt(s.native_handle(), IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof v4);
    if (local.address().is_v6()) {
      int v6 = IPV6_PMTUDISC_PROBE;
      ::setsockopt(s.native_handle(), IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof v6);
    }
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
    self->max_size_ = max_size;
    // With UDP GRO the kernel hands over a burst of equal datagrams from one
    // sender as one buffer (and its segment size): fewer, larger slots.
    int one = 1;
    self->gro_ = ::setsockopt(self->socket_.native_handle(), SOL_UDP, UDP_GRO, &one,
                              sizeof one) == 0;
    self->slot_ = self->gro_ ? gro_slot_bytes : max_size + 1;
    // Without GRO: as many slots as fit in a megabyte, 8 to `max_batch`.
    self->slots_ = self->gro_ ? gro_slots
                              : std::clamp<size_t>((1 << 20) / self->slot_, 8, max_batch);
    self->buffer_.resize(self->slot_ * self->slots_);
    self->socket_.non_blocking(true);
    self->receive_batched();
  });
}

void datagram_socket::receive() {
  auto self = shared_from_this();
  socket_.async_receive_from(
    asio::buffer(buffer_), from_,
    asio::bind_executor(strand_, [self](boost::system::error_code err, size_t n) {
      if (self->closed_ || err == asio::error::operation_aborted)
        return;
      if (!err && n < self->buffer_.size() && self->handler_)
        self->handler_(bytes(self->buffer_.begin(),
                             self->buffer_.begin() + static_cast<ptrdiff_t>(n)),
                       self->from_);
      if (!self->closed_)
        self->receive();
    }));
}

void datagram_socket::receive_batched() {
  auto self = shared_from_this();
  socket_.async_wait(udp::socket::wait_read,
                     asio::bind_executor(strand_, [self](boost::system::error_code err) {
                       if (self->closed_ || err == asio::error::operation_aborted)
                         return;
                       if (!err)
                         self->drain_batched();
                       if (!self->closed_)
                         self->receive_batched();
                     }));
}

void datagram_socket::drain_batched() {
  // Everything already waiting, up to a batch, in one recvmmsg.
  mmsghdr msgs[max_batch];
  iovec iov[max_batch];
  sockaddr_storage from[max_batch];
  constexpr size_t cmsg_space = CMSG_SPACE(sizeof(int));
  alignas(cmsghdr) char control[max_batch][cmsg_space];
  std::memset(msgs, 0, sizeof msgs);
  for (size_t i = 0; i < slots_; ++i) {
    iov[i].iov_base = buffer_.data() + i * slot_;
    iov[i].iov_len = slot_;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    if (gro_) {
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = cmsg_space;
    }
  }
  int n = ::recvmmsg(socket_.native_handle(), msgs, static_cast<unsigned>(slots_), MSG_DONTWAIT,
                     nullptr);
  if (n <= 0)
    return;
  std::vector<std::pair<bytes, udp::endpoint>> batch;
  batch.reserve(static_cast<size_t>(n));
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    auto& h = msgs[i].msg_hdr;
    size_t len = msgs[i].msg_len;
    if ((h.msg_flags & MSG_TRUNC) != 0 || len >= slot_ || h.msg_namelen > sizeof from[i])
      continue; // longer than any buffer we take
    // A GRO buffer holds datagrams of `segment` bytes each (the last may be
    // shorter); without the control message it is one datagram.
    size_t segment = len;
    for (auto* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c))
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int v = 0;
        std::memcpy(&v, CMSG_DATA(c), sizeof v);
        if (v > 0)
          segment = static_cast<size_t>(v);
      }
    udp::endpoint ep;
    std::memcpy(ep.data(), &from[i], h.msg_namelen);
    ep.resize(h.msg_namelen);
    auto* p = buffer_.data() + i * slot_;
    for (size_t off = 0; off < len; off += segment) {
      auto take = std::min(segment, len - off);
      if (take <= max_size_)
        batch.emplace_back(bytes(p + off, p + off + take), ep);
    }
  }
  if (!batch.empty() && batch_handler_)
    batch_handler_(std::move(batch));
}

size_t datagram_socket::send_now(std::vector<bytes>& data, size_t from, const udp::endpoint& to,
                                 bool allow_gso) {
  std::vector<size_t> sizes;
  sizes.reserve(data.size() - from);
  for (size_t i = from; i < data.size(); ++i)
    sizes.push_back(data[i].size());
  auto runs = plan_gso_runs(sizes, gso_ && allow_gso ? gso_max_segments : 1);
  std::vector<mmsghdr> msgs(runs.size());
  std::vector<iovec> iov(sizes.size());
  constexpr size_t cmsg_space = CMSG_SPACE(sizeof(uint16_t));
  std::vector<char> control(runs.size() * cmsg_space, 0);
  for (size_t r = 0; r < runs.size(); ++r) {
    auto& run = runs[r];
    for (size_t k = 0; k < run.count; ++k) {
      auto& d = data[from + run.first + k];
      iov[run.first + k].iov_base = d.data();
      iov[run.first + k].iov_len = d.size();
    }
    auto& h = msgs[r].msg_hdr;
    h = msghdr{};
    h.msg_name = const_cast<sockaddr*>(to.data());
    h.msg_namelen = static_cast<socklen_t>(to.size());
    h.msg_iov = &iov[run.first];
    h.msg_iovlen = run.count;
    if (run.count > 1) {
      // One buffer, cut by the kernel into `segment`-sized datagrams.
      h.msg_control = control.data() + r * cmsg_space;
      h.msg_controllen = cmsg_space;
      auto* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      auto segment = static_cast<uint16_t>(run.segment);
      std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    }
  }
  size_t done = 0; // runs handed to the kernel (or given up)
  while (done < runs.size()) {
    int n = ::sendmmsg(socket_.native_handle(), msgs.data() + done,
                       static_cast<unsigned>(runs.size() - done), MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      break;
    if (runs[done].count > 1) {
      // EMSGSIZE: a segment too large for the path (a path MTU probe went
      // with it); anything else: this device or kernel does not take GSO, so
      // datagram by datagram from here on. This run goes that way now.
      if (errno != EMSGSIZE)
        gso_ = false;
      auto first = from + runs[done].first;
      auto end = first + runs[done].count;
      std::vector<bytes> single(std::make_move_iterator(data.begin() + static_cast<ptrdiff_t>(first)),
                                std::make_move_iterator(data.begin() + static_cast<ptrdiff_t>(end)));
      auto sent = send_now(single, 0, to, false);
      if (sent < single.size()) {
        // Would block: hand back what is left, in order.
        for (size_t k = 0; k < single.size(); ++k)
          data[first + k] = std::move(single[k]);
        return first + sent;
      }
      ++done;
      continue;
    }
    ++done; // best effort: this datagram is lost, like any other
  }
  return from + (done < runs.size() ? runs[done].first : sizes.size());
}

void datagram_socket::send_batch(std::vector<bytes> data, udp::endpoint to) {
  size_t sent = 0;
  if (backlog_.load() == 0) {
    // Straight from the caller's thread: the kernel serialises sends on one
    // socket, and the lock keeps `close` from pulling the descriptor away.
    std::shared_lock<std::shared_mutex> guard{fd_mutex_};
    if (fd_closed_)
      return;
    sent = send_now(data, 0, to);
  }
  if (sent == data.size())
    return;
  // The socket buffer is full (or earlier datagrams still wait for it): the
  // rest goes from the socket's thread, in order.
  auto self = shared_from_this();
  backlog_ += data.size() - sent;
  asio::post(strand_, [self, data = std::move(data), sent, to]() mutable {
    for (auto i = sent; i < data.size(); ++i) {
      if (self->closed_) {
        self->backlog_ -= data.size() - i;
        return;
      }
      auto buf = std::make_shared<bytes>(std::move(data[i]));
      self->socket_.async_send_to(asio::buffer(*buf), to,
                                  asio::bind_executor(self->strand_,
                                                      [buf, self](boost::system::error_code,
                                                                  size_t) { --self->backlog_; }));
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
    std::unique_lock<std::shared_mutex> guard{self->fd_mutex_};
    self->fd_closed_ = true;
    boost::system::error_code ignored;
    self->socket_.close(ignored);
  });
}

} // namespace crust
