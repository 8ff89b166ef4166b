#pragma once

// A reliable, ordered byte stream as a connection sees it: a TCP socket
// (tcp_stream) or a relay circuit (actors/relay_stream). Calls return at
// once and may come from any thread; callbacks must not block.

#include "messages/bytes.hpp"
#include "messages/ec.hpp"

#include <functional>
#include <string>

namespace crust {

class byte_stream {
public:
  struct callbacks {
    std::function<void()> on_connected;          ///< an outbound stream is open
    std::function<void(bytes)> on_data;          ///< a chunk arrived
    std::function<void(size_t)> on_written;      ///< bytes left our buffers
    std::function<void(ec, std::string)> on_end; ///< stream over (once)
  };

  virtual ~byte_stream() = default;

  /// Begins delivering to `cbs` (an accepted or already opening stream).
  virtual void start(callbacks cbs) = 0;
  /// Writes bytes: returns how many left at once (a stream may send
  /// straight away when nothing is queued); `on_written` reports the rest
  /// gone later.
  virtual size_t write(bytes data) = 0;
  /// Returns read credit: `n` bytes handed to `on_data` were processed.
  virtual void consumed(size_t n) = 0;
  /// Closes after the queued writes; no callback follows.
  virtual void close() = 0;
};

} // namespace crust
