#pragma once

#include "messages/bytes.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <shared_mutex>
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
    /// Never fragment (IP_PMTUDISC_PROBE): a datagram too large for the path
    /// is lost rather than split, as path MTU probing needs.
    bool dont_fragment = false;
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

  /// Sends several datagrams to one destination: at once, from the calling
  /// thread, in one `sendmmsg` call in which runs of equal-sized datagrams
  /// travel as one UDP GSO buffer where the kernel can; what does not fit the
  /// socket buffer follows from the socket's thread. May be called from any
  /// thread.
  void send_batch(std::vector<bytes> data, udp::endpoint to);

  /// False once the kernel refused a GSO send on this socket (every batch
  /// then goes as separate datagrams, still in one `sendmmsg`).
  bool gso_enabled() const { return gso_; }

  /// True when the kernel coalesces received bursts (UDP GRO, `start_batched`).
  bool gro_enabled() const { return gro_; }

  void close();

  udp::endpoint local_endpoint() const { return local_; }

private:
  datagram_socket(boost::asio::io_context& io, udp::socket socket);
  void receive();
  void receive_batched();
  void drain_batched();
  /// Sends what it can at once; returns how many datagrams went (the rest
  /// would block).
  size_t send_now(std::vector<bytes>& data, size_t from, const udp::endpoint& to,
                  bool allow_gso = true);

  udp::socket socket_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  udp::endpoint local_;
  udp::endpoint from_;
  /// With GRO: slots of a whole GSO buffer each (64 KiB), fewer of them.
  static constexpr size_t gro_slot_bytes = 65536;
  static constexpr size_t gro_slots = 16;

  bytes buffer_;              ///< one datagram (`start`), or `slots_` slots
  size_t slot_ = 0;           ///< bytes per slot of `buffer_` (`start_batched`)
  size_t slots_ = 0;
  size_t max_size_ = 0;       ///< longer datagrams are dropped
  std::atomic<bool> gso_{true}; ///< read and cleared by concurrent senders
  bool gro_ = false;
  /// Held shared by `send_batch` callers while they use the descriptor,
  /// exclusively by `close` (on the strand).
  std::shared_mutex fd_mutex_;
  bool fd_closed_ = false;
  /// Datagrams handed to the strand to go after a full socket buffer: while
  /// there are any, later batches queue behind them (order is kept).
  std::atomic<size_t> backlog_{0};
  handler handler_;
  batch_handler batch_handler_;
  bool closed_ = false;
};

} // namespace crust
