#include "transport/frame_decoder.hpp"

#include <algorithm>
#include <cstring>

namespace crust {

void frame_decoder::append(bytes&& chunk) {
  if (error_ != ec::none || chunk.empty())
    return;
  if (pending_pos_ < pending_.size()) {
    // A read arrived before the last one was taken apart: queue behind it.
    pending_.insert(pending_.end(), chunk.begin(), chunk.end());
  } else if (buf_.size() == pos_) {
    buf_ = std::move(chunk);
    pos_ = 0;
  } else {
    pending_ = std::move(chunk);
    pending_pos_ = 0;
  }
}

void frame_decoder::append(const uint8_t* data, size_t len) {
  if (error_ != ec::none || len == 0)
    return;
  if (pending_pos_ < pending_.size()) {
    pending_.insert(pending_.end(), data, data + len);
    return;
  }
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
  for (;;) {
    bool more = pending_pos_ < pending_.size();
    if (buf_.size() == pos_ && more) {
      // The frames before it are out: carry on in the adopted read.
      buf_ = std::move(pending_);
      pos_ = pending_pos_;
      pending_ = bytes{};
      pending_pos_ = 0;
      more = false;
    }
    auto available = buf_.size() - pos_;
    // What the frame at the front lacks: its header first, then its body.
    auto missing = frame_header_size - std::min(available, frame_header_size);
    if (available >= frame_header_size) {
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
      if (available >= frame_header_size + n) {
        body = p + frame_header_size;
        len = n;
        pos_ += frame_header_size + n;
        return status::frame;
      }
      missing = frame_header_size + n - available;
    }
    if (!more) {
      if (available == 0 && buf_.capacity() > 16 * 1024) {
        buf_ = bytes{}; // an idle link keeps no adopted read
        pos_ = 0;
      }
      return status::need_more;
    }
    // A frame straddles the two reads: copy its missing part (at most one
    // frame) from the adopted read; the rest of that read stays in place.
    auto n = std::min(missing, pending_.size() - pending_pos_);
    if (pos_ > 0) {
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
      pos_ = 0;
    }
    auto from = pending_.begin() + static_cast<ptrdiff_t>(pending_pos_);
    buf_.insert(buf_.end(), from, from + static_cast<ptrdiff_t>(n));
    pending_pos_ += n;
    if (pending_pos_ == pending_.size()) {
      pending_.clear();
      pending_pos_ = 0;
    }
  }
}

} // namespace crust
