#include "transport/rudp/send_stream.hpp"

#include <algorithm>
#include <cstring>

namespace crust::rudp {

uint64_t send_stream::begin() const {
  return chunks_.empty() ? end_ : chunks_.front().offset;
}

void send_stream::append(const uint8_t* data, size_t len) {
  if (len == 0)
    return;
  if (chunks_.empty() || chunks_.back().shared
      || chunks_.back().own.size() + len > chunks_.back().own.capacity()) {
    chunk c;
    c.offset = end_;
    c.own.reserve(std::max(gather_size, len));
    chunks_.push_back(std::move(c));
  }
  auto& own = chunks_.back().own;
  own.insert(own.end(), data, data + len);
  end_ += len;
}

void send_stream::append_shared(const uint8_t* prefix, size_t prefix_len,
                                std::shared_ptr<const bytes> payload, size_t from, size_t len) {
  if (prefix_len > max_prefix) {
    // Not what callers do; kept correct all the same.
    append(prefix, prefix_len);
    prefix_len = 0;
  }
  chunk c;
  c.offset = end_;
  c.shared = std::move(payload);
  c.from = from;
  c.len = len;
  std::memcpy(c.prefix.data(), prefix, prefix_len);
  c.prefix_len = static_cast<uint8_t>(prefix_len);
  end_ += c.size();
  chunks_.push_back(std::move(c));
}

void send_stream::chunk::copy_to(size_t at, size_t n, bytes& out) const {
  if (!shared) {
    out.insert(out.end(), own.begin() + static_cast<ptrdiff_t>(at),
               own.begin() + static_cast<ptrdiff_t>(at + n));
    return;
  }
  if (at < prefix_len) {
    auto k = std::min(n, prefix_len - at);
    out.insert(out.end(), prefix.begin() + static_cast<ptrdiff_t>(at),
               prefix.begin() + static_cast<ptrdiff_t>(at + k));
    at += k;
    n -= k;
  }
  if (n == 0)
    return;
  auto p = shared->data() + from + (at - prefix_len);
  out.insert(out.end(), p, p + n);
}

bool send_stream::copy(uint64_t offset, size_t len, bytes& out) const {
  if (offset < begin() || offset > end_ || len > end_ - offset)
    return false;
  if (len == 0)
    return true;
  // The chunk holding `offset`: the last one starting at or before it.
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), offset,
                             [](uint64_t o, const chunk& c) { return o < c.offset; });
  --it;
  while (len > 0) {
    auto at = static_cast<size_t>(offset - it->offset);
    auto n = std::min(len, it->size() - at);
    it->copy_to(at, n, out);
    offset += n;
    len -= n;
    ++it;
  }
  return true;
}

void send_stream::release(uint64_t offset) {
  while (!chunks_.empty() && chunks_.front().offset + chunks_.front().size() <= offset)
    chunks_.pop_front();
}

} // namespace crust::rudp
