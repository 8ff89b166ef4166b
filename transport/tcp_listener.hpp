#pragma once

#include "messages/ec.hpp"
#include "messages/endpoint.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <variant>

namespace crust {

class tcp_stream;

/// A listening TCP socket that hands out accepted streams.
class tcp_listener : public std::enable_shared_from_this<tcp_listener> {
public:
  using accept_handler = std::function<void(std::shared_ptr<tcp_stream>)>;

  /// Binds `address:port` and listens. When the port is taken and
  /// `fallback_to_random` is set, binds a random port instead. The address
  /// "::" means every IPv6 and IPv4 address (IPv4 only where IPv6 is off).
  /// `share_port`: the socket sets SO_REUSEPORT, so that our own dials can
  /// leave from the listening port (TCP simultaneous open, `tcp_stream::
  /// connect_from`); whether the port is free is still checked first, with
  /// a plain bind, so a port another program holds is never shared.
  static std::variant<std::shared_ptr<tcp_listener>, std::string>
  open(boost::asio::io_context& io, const std::string& address, uint16_t port,
       bool fallback_to_random, bool share_port = false);

  /// Starts accepting; `on_accept` runs on the io thread for each connection.
  void start(accept_handler on_accept);

  /// Stops accepting and closes the socket.
  void close();

  endpoint local_endpoint() const { return local_; }

private:
  explicit tcp_listener(boost::asio::ip::tcp::acceptor acceptor);
  void accept_next();

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  accept_handler on_accept_;
  endpoint local_;
  bool closed_ = false;
};

} // namespace crust
