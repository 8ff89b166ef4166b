#pragma once

#include "messages/bytes.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/strand.hpp>

#include <functional>
#include <memory>
#include <string>

namespace crust {

/// A UDP socket on the node's io_context, reduced to datagrams in and out.
/// Received datagrams go to `on_datagram` on the io thread (it must not
/// block); `send_to` may be called from any thread. Closing drops the
/// callback: nothing is reported afterwards.
class datagram_socket : public std::enable_shared_from_this<datagram_socket> {
public:
  using udp = boost::asio::ip::udp;
  using handler = std::function<void(bytes, udp::endpoint)>;
  /// Several datagrams that were waiting at once (at most `max_batch`).
  using batch_handler = std::function<void(std::vector<std::pair<bytes, udp::endpoint>>)>;
  static constexpr size_t max_batch = 64;

  struct options {
    bool reuse = false;       ///< SO_REUSEADDR and SO_REUSEPORT: share the port
    bool broadcast = false;   ///< SO_BROADCAST
    bool v6_only = true;      ///< for IPv6 sockets
    int multicast_hops = 1;   ///< IPv6 multicast: stay on the link
    int buffer_bytes = 0;     ///< SO_RCVBUF and SO_SNDBUF (0: the system's default)
  };

  /// Opens and binds; throws boost::system::system_error on failure.
  static std::shared_ptr<datagram_socket> open(boost::asio::io_context& io,
                                               const udp::endpoint& local, options opts);

  /// Joins an IPv6 multicast group on interface `index`; false on failure.
  bool join_v6(const std::string& group, unsigned index);

  /// Starts delivering datagrams (at most `max_size` bytes each; longer
  /// ones are dropped).
  void start(handler on_datagram, size_t max_size = 2048);

  /// Like `start`, but hands over every datagram already waiting in one call.
  void start_batched(batch_handler on_batch, size_t max_size = 2048);

  /// Sends one datagram; failures are dropped (UDP is best effort).
  void send_to(bytes data, udp::endpoint to);

  /// Sends several datagrams to one destination with one hand-off to the
  /// socket's thread.
  void send_batch(std::vector<bytes> data, udp::endpoint to);

  void close();

  udp::endpoint local_endpoint() const { return local_; }

private:
  datagram_socket(boost::asio::io_context& io, udp::socket socket);
  void receive();

  udp::socket socket_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  udp::endpoint local_;
  udp::endpoint from_;
  bytes buffer_;
  handler handler_;
  batch_handler batch_handler_;
  bool closed_ = false;
};

} // namespace crust
