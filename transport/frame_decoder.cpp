#include "transport/frame_decoder.hpp"

#include <cstring>

namespace crust {

void frame_decoder::append(const uint8_t* data, size_t len) {
  if (error_ != ec::none || len == 0)
    return;
  // Drop what was handed out already before growing the buffer.
  if (pos_ > 0) {
    auto rest = buf_.size() - pos_;
    std::memmove(buf_.data(), buf_.data() + pos_, rest);
    buf_.resize(rest);
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data, data + len);
}

frame_decoder::status frame_decoder::next(uint8_t*& body, size_t& len) {
  if (error_ != ec::none)
    return status::error;
  auto available = buf_.size() - pos_;
  if (available < frame_header_size)
    return status::need_more;
  auto* p = buf_.data() + pos_;
  size_t n = static_cast<size_t>(p[0]) << 8 | p[1];
  if (n > max_body_) {
    error_ = ec::frame_too_large;
    return status::error;
  }
  if (n < min_body_) {
    error_ = ec::malformed_frame;
    return status::error;
  }
  if (available < frame_header_size + n)
    return status::need_more;
  body = p + frame_header_size;
  len = n;
  pos_ += frame_header_size + n;
  return status::frame;
}

} // namespace crust
