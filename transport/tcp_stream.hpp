#pragma once

#include "messages/bytes.hpp"
#include "transport/byte_stream.hpp"
#include "messages/ec.hpp"
#include "messages/endpoint.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace crust {

/// A TCP socket on the node's io_context, reduced to what a connection needs:
/// chunks read, bytes written, one end-of-stream report. All socket work runs
/// on the stream's strand; the public functions may be called from any thread
/// and return at once. Callbacks run on the io thread and must not block.
class tcp_stream : public byte_stream, public std::enable_shared_from_this<tcp_stream> {
public:
  using callbacks = byte_stream::callbacks;

  /// Bytes delivered but not yet `consumed` before reading pauses: the
  /// receive side's backpressure. A slow consumer stalls the TCP window.
  static constexpr size_t read_window = 1024 * 1024;
  static constexpr size_t read_chunk = 256 * 1024;

  /// A stream around an accepted socket.
  static std::shared_ptr<tcp_stream> adopt(boost::asio::ip::tcp::socket socket);

  /// A stream that will dial.
  static std::shared_ptr<tcp_stream> make(boost::asio::io_context& io);

  /// Dials `remote`, giving up after `timeout`; then reads like `start`.
  void connect(const endpoint& remote, std::chrono::milliseconds timeout, callbacks cbs);

  /// Dials `remote` from `local_port` (the node's listening port, which the
  /// listener shares: `tcp_listener::open`), again and again until connected
  /// or `until`, each try given `attempt_timeout`: TCP simultaneous open
  /// through NATs, where the peer's SYNs pass our NAT only once ours went
  /// out, so early tries are refused or lost. `local_address` is the
  /// listener's ("::" binds the unspecified address of `remote`'s family).
  void connect_from(const std::string& local_address, uint16_t local_port,
                    const endpoint& remote, std::chrono::milliseconds attempt_timeout,
                    std::chrono::steady_clock::time_point until, callbacks cbs);

  /// Begins reading an accepted socket.
  void start(callbacks cbs) override;

  /// Writes bytes. When nothing is queued or being written, they are sent
  /// at once from the calling thread (a non-blocking send on the socket):
  /// what that sends is returned, not reported, and saves a hand-over to
  /// the io thread (a wake-up per message on a quiet link). What is left
  /// is queued on the strand; `on_written` reports it gone.
  size_t write(bytes data) override;

  /// Returns read credit: `n` bytes handed to `on_data` were processed.
  void consumed(size_t n) override;

  /// Closes after the queued writes (a graceful TCP shutdown). Callbacks are
  /// dropped: no report follows.
  void close() override;

  /// Refuses an accepted stream that was never started: writes `last` (a
  /// handshake abort frame naming why, docs/PROTOCOL.md §3.5), ends our
  /// sending side, and reads and discards what the dialer sends (at most
  /// 4 KiB) until it closes or `linger` passes, so the kernel does not
  /// answer the dialer's unread handshake message with a reset that could
  /// overtake `last`. At most `max_lingering` refused streams linger at
  /// once in the process; beyond that one is closed straight after `last`.
  void reject(bytes last, std::chrono::milliseconds linger = std::chrono::milliseconds(1000));
  static constexpr int max_lingering = 64;

  /// The endpoints, as known when the socket was accepted or connected.
  endpoint remote_endpoint() const { return remote_; }
  endpoint local_endpoint() const { return local_; }

private:
  explicit tcp_stream(boost::asio::ip::tcp::socket socket);

  bool set_target(const endpoint& remote, callbacks cbs); ///< false: ended already
  void dial();
  void on_open();
  void read_some();
  void write_some();
  void end(ec reason, const std::string& what);
  void shutdown_now();
  void discard_until_end(size_t budget);
  void set_direct();  ///< on the strand: direct writes while nothing is queued
  void stop_direct(); ///< before the socket closes

  boost::asio::ip::tcp::socket socket_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;
  callbacks cbs_;
  endpoint remote_;
  endpoint local_;
  // The dial: one try, or tries until `dial_until_` from a shared local port.
  std::optional<boost::asio::ip::tcp::endpoint> dial_target_;
  std::optional<boost::asio::ip::tcp::endpoint> dial_from_;
  std::chrono::milliseconds dial_timeout_{0};
  std::chrono::steady_clock::time_point dial_until_{};
  unsigned dial_tries_ = 0;
  /// Delivered, not yet `consumed`: added on the strand, taken back from the
  /// consumer's thread. Reading pauses at `read_window`.
  std::atomic<size_t> unconsumed_{0};
  bool reading_ = false;
  std::deque<bytes> write_queue_;
  std::vector<boost::asio::const_buffer> write_bufs_;
  size_t writing_count_ = 0; ///< buffers in the write under way
  bool closing_ = false;
  bool ended_ = false;
  // Direct writes (see `write`), under `direct_mtx_`: the socket's
  // descriptor while open (-1 once it closes or before it opens), whether
  // the strand has nothing queued, and writes posted to it not yet queued.
  std::mutex direct_mtx_;
  int direct_fd_ = -1;
  bool direct_idle_ = false;
  size_t posted_writes_ = 0;
};

} // namespace crust
