#pragma once

#include "messages/bytes.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

namespace crust::rudp {

/// The outgoing byte stream of a reliable-UDP session: every byte from the
/// first one not yet acknowledged to the last one queued, kept for
/// retransmission (sans-I/O).
///
/// Small items are gathered into chunks of their own bytes. A large
/// message's payload is taken over whole and never copied: each of its items
/// is a chunk holding the item header and a range of the shared payload.
/// Acknowledged chunks are freed whole, so nothing is ever moved to compact
/// the buffer.
class send_stream {
public:
  /// Bytes gathered per chunk before a new one starts.
  static constexpr size_t gather_size = 16 * 1024;
  /// The most a shared chunk's header may take.
  static constexpr size_t max_prefix = 8;

  /// Stream offset of the first byte still held (`end()` when none is).
  uint64_t begin() const;
  /// One past the last byte appended.
  uint64_t end() const { return end_; }
  size_t chunks() const { return chunks_.size(); }

  /// Appends `len` bytes, copied.
  void append(const uint8_t* data, size_t len);

  /// Appends `prefix_len` (at most `max_prefix`) bytes of `prefix`, copied,
  /// then bytes `[from, from + len)` of `payload`, not copied.
  void append_shared(const uint8_t* prefix, size_t prefix_len,
                     std::shared_ptr<const bytes> payload, size_t from, size_t len);

  /// Appends stream bytes `[offset, offset + len)` to `out`. They must be
  /// held: `begin() <= offset` and `offset + len <= end()`; returns false
  /// (and appends nothing) otherwise.
  bool copy(uint64_t offset, size_t len, bytes& out) const;

  /// Frees every chunk that lies wholly below `offset`.
  void release(uint64_t offset);

private:
  struct chunk {
    uint64_t offset = 0; ///< stream offset of its first byte
    bytes own;           ///< gathered bytes (when `shared` is null)
    std::shared_ptr<const bytes> shared;
    size_t from = 0;     ///< first byte of `shared` in this chunk
    size_t len = 0;      ///< bytes of `shared` in this chunk
    std::array<uint8_t, max_prefix> prefix{};
    uint8_t prefix_len = 0;

    size_t size() const { return shared ? prefix_len + len : own.size(); }
    /// Appends this chunk's bytes `[at, at + n)` to `out`.
    void copy_to(size_t at, size_t n, bytes& out) const;
  };

  std::deque<chunk> chunks_;
  uint64_t end_ = 0;
};

} // namespace crust::rudp
