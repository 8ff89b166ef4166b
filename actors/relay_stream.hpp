#pragma once

#include "nat/relay_codec.hpp"
#include "transport/byte_stream.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace crust {

/// One end of a relay circuit as a byte stream: what a connection writes
/// goes to the relay in DATA messages, at most a window of unacknowledged
/// bytes at a time; what the relay hands us is delivered as if read from a
/// socket. The far end's ACKs return the window (and count as written).
/// Thread-safe: the connection writes, the manager delivers.
class relay_stream : public byte_stream {
public:
  /// Sends one message to the relay (called with the stream's lock held,
  /// so messages leave in order).
  using sink = std::function<void(const relay_msg&)>;

  static constexpr size_t default_window = relay_window;

  /// `open`: the circuit is up already (the relay told us of an incoming
  /// one: no `on_connected` follows); else `opened` reports it up later.
  relay_stream(uint64_t circuit, sink out, bool open, size_t window = default_window);

  uint64_t circuit() const { return circuit_; }

  // -- byte_stream (the connection's side) ------------------------------------
  void start(callbacks cbs) override;
  size_t write(bytes data) override; ///< always 0: the window's ACKs report them
  void consumed(size_t n) override;
  void close() override;

  // -- from the relay (the manager's side) ------------------------------------
  void opened();
  void deliver(bytes data);
  void credit(size_t n);
  void end(ec reason, const std::string& what);

private:
  void flush_locked();
  void send_close_locked();

  const uint64_t circuit_;
  sink out_;
  const size_t window_;
  std::mutex mtx_;
  callbacks cbs_;
  bool started_ = false;
  bool open_;
  bool connect_pending_ = false; ///< opened() came before start()
  bool closing_ = false; ///< close() called: CLOSE follows the queue
  bool closed_ = false;  ///< CLOSE sent or the relay ended it
  std::deque<bytes> queue_;
  size_t in_flight_ = 0;
  std::deque<bytes> early_; ///< delivered before start()
};

} // namespace crust
