#pragma once

#include "messages/bytes.hpp"
#include "messages/ec.hpp"

#include <cstddef>
#include <cstdint>

namespace crust {

/// Size of a frame's length prefix on a stream: a big-endian u16.
constexpr size_t frame_header_size = 2;

/// The largest frame body: Noise's message limit.
constexpr size_t max_frame_size = 65535;

/// Writes the 2-byte big-endian length prefix for a body of `len` bytes.
inline void write_frame_header(uint8_t* out, size_t len) {
  out[0] = static_cast<uint8_t>(len >> 8);
  out[1] = static_cast<uint8_t>(len & 0xff);
}

/// Cuts a byte stream into length-prefixed frames (sans-I/O). Bytes go in with
/// `append`; `next` hands out one whole frame body at a time. It never holds
/// more than one frame plus one read's worth of bytes, and it refuses frames
/// above `max_body` or below `min_body` before buffering them.
///
/// A read handed over whole (`append(bytes&&)`) is not copied: its frames are
/// handed out where they lie, and only a frame that began in an earlier read
/// is completed by copying its missing bytes.
class frame_decoder {
public:
  enum class status { frame, need_more, error };

  explicit frame_decoder(size_t max_body = max_frame_size, size_t min_body = 1)
    : max_body_(max_body), min_body_(min_body) {
  }

  /// Changes the limits (e.g. when a handshake finishes).
  void set_limits(size_t max_body, size_t min_body) {
    max_body_ = max_body;
    min_body_ = min_body;
  }

  void append(const uint8_t* data, size_t len);

  /// Takes a read over: no copy but a straddling frame's missing part.
  void append(bytes&& chunk);

  /// On `frame`, `body` and `len` point into the decoder's buffer (valid, and
  /// writable, until the next `append` or `next`). On `error`, `last_error()`
  /// says why and the decoder stays failed.
  status next(uint8_t*& body, size_t& len);

  ec last_error() const { return error_; }

  /// Bytes received but not yet handed out.
  size_t buffered() const { return buf_.size() - pos_ + pending_.size() - pending_pos_; }

private:
  bytes buf_;
  size_t pos_ = 0;
  /// An adopted read, after the frame `buf_` completes.
  bytes pending_;
  size_t pending_pos_ = 0;
  size_t max_body_;
  size_t min_body_;
  ec error_ = ec::none;
};

} // namespace crust
