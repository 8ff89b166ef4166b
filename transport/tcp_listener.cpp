#include "transport/tcp_listener.hpp"

#include "transport/address.hpp"
#include "transport/tcp_stream.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>

namespace crust {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

/// Pause after a failed accept (e.g. out of file descriptors) before trying
/// again, instead of spinning.
constexpr auto accept_retry_delay = std::chrono::milliseconds(100);

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

boost::system::error_code bind_one(tcp::acceptor& acceptor, const tcp::endpoint& ep,
                                   bool share) {
  boost::system::error_code err;
  if (acceptor.is_open())
    acceptor.close(err);
  acceptor.open(ep.protocol(), err);
  if (err)
    return err;
  acceptor.set_option(asio::socket_base::reuse_address(true), err);
  if (share)
    acceptor.set_option(reuse_port(true), err);
  if (ep.address().is_v6())
    acceptor.set_option(asio::ip::v6_only(false), err);
  acceptor.bind(ep, err);
  return err;
}

boost::system::error_code try_bind(tcp::acceptor& acceptor, tcp::endpoint ep, bool share) {
  boost::system::error_code err;
  if (share) {
    // A plain bind first: it fails when anybody holds the port (a shared
    // bind would succeed beside another SO_REUSEPORT socket of ours), and
    // for port 0 it picks a port nobody holds.
    if ((err = bind_one(acceptor, ep, false)))
      return err;
    ep.port(acceptor.local_endpoint(err).port());
    if (err)
      return err;
  }
  if ((err = bind_one(acceptor, ep, share)))
    return err;
  acceptor.listen(asio::socket_base::max_listen_connections, err);
  return err;
}

} // namespace

tcp_listener::tcp_listener(tcp::acceptor acceptor)
  : acceptor_(std::move(acceptor)), backoff_(acceptor_.get_executor()) {
  boost::system::error_code err;
  auto ep = acceptor_.local_endpoint(err);
  if (!err)
    local_ = from_asio(ep);
}

std::variant<std::shared_ptr<tcp_listener>, std::string>
tcp_listener::open(asio::io_context& io, const std::string& address, uint16_t port,
                   bool fallback_to_random, bool share_port) {
  boost::system::error_code err;
  auto addr = asio::ip::make_address(address, err);
  if (err)
    return "not a numeric address: " + address;
  tcp::acceptor acceptor(io);
  err = try_bind(acceptor, {addr, port}, share_port);
  if (err && addr == asio::ip::address_v6::any()) {
    // No IPv6 on this host: the unspecified address falls back to IPv4.
    addr = asio::ip::address_v4::any();
    err = try_bind(acceptor, {addr, port}, share_port);
  }
  if (err == asio::error::address_in_use && port != 0 && fallback_to_random)
    err = try_bind(acceptor, {addr, 0}, share_port);
  if (err)
    return "cannot listen on " + address + ":" + std::to_string(port) + ": " + err.message();
  return std::shared_ptr<tcp_listener>(new tcp_listener(std::move(acceptor)));
}

void tcp_listener::start(accept_handler on_accept) {
  asio::post(acceptor_.get_executor(), [self = shared_from_this(),
                                        on_accept = std::move(on_accept)]() mutable {
    self->on_accept_ = std::move(on_accept);
    self->accept_next();
  });
}

void tcp_listener::accept_next() {
  if (closed_)
    return;
  acceptor_.async_accept([self = shared_from_this()](auto err, tcp::socket socket) {
    if (self->closed_)
      return;
    if (err) {
      self->backoff_.expires_after(accept_retry_delay);
      self->backoff_.async_wait([self](auto) { self->accept_next(); });
      return;
    }
    if (self->on_accept_)
      self->on_accept_(tcp_stream::adopt(std::move(socket)));
    self->accept_next();
  });
}

void tcp_listener::close() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->closed_ = true;
    self->on_accept_ = nullptr;
    self->backoff_.cancel();
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

} // namespace crust
