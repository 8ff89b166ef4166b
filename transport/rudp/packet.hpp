#pragma once

// Reliable UDP's datagrams (docs/PROTOCOL.md §8). Every datagram starts with
// its type; the receiver's connection id follows, so one socket demultiplexes
// many connections:
//
//   INITIAL   0x01 | version u8 | dcid[8] | scid[8] | token_len u8 | token
//                  | noise_len u16 | Noise message 1 | zero padding to 1200 bytes
//   RETRY     0x02 | dcid[8] (client's scid) | scid[8] (client's first dcid)
//                  | token_len u8 | token
//   HANDSHAKE 0x03 | dcid[8] | scid[8] | noise_len u16 | Noise message 2 or 3
//   DATA      0x04 | dcid[8] | packet number u64 | AEAD(frames) (tag 16)
//   ABORT     0x05 | dcid[8] | scid[8] | reason u8 [| retry_after_ms u32]
//                  (a handshake given up: the peer drops its half at once;
//                  a server refusing a validated INITIAL names a retry-after)
//
// DATA frames (inside the AEAD, the 17 header bytes are its associated data):
//   PADDING 0x00
//   ACK     0x01 | largest u64 | ack_delay_us u32 | n u8 | first u32 | (gap u32 | len u32) × n
//   STREAM  0x02 | offset u64 | len u16 | bytes
//   PING    0x03
//   MAX_DATA 0x05 | limit u64

#include "messages/bytes.hpp"
#include "messages/ec.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace crust::rudp {

using cid = std::array<uint8_t, 8>;

enum class packet_type : uint8_t { initial = 1, retry = 2, handshake = 3, data = 4, abort = 5 };

constexpr uint8_t version = 1;
constexpr size_t min_initial_size = 1200;  ///< clients pad INITIALs to this
constexpr size_t data_header_size = 1 + 8 + 8;
constexpr size_t max_token = 64;
/// The largest datagram a node takes; path MTU probing never goes beyond it.
constexpr size_t max_datagram_size = 16384;

struct initial_packet {
  cid dcid{};
  cid scid{};
  bytes token;
  bytes noise;
};

struct retry_packet {
  cid dcid{};
  cid scid{};
  bytes token;
};

struct handshake_packet {
  cid dcid{};
  cid scid{};
  bytes noise;
};

/// A handshake one side gives up (its link lost a race, was refused, the
/// node is stopping): the other side closes its half now instead of
/// waiting out its handshake timeout. Unauthenticated, like the handshake
/// packets: it counts only with both connection ids right, which only the
/// two ends (and whoever sees the path) know.
struct abort_packet {
  cid dcid{};
  cid scid{};
  ec reason = ec::none;
  uint32_t retry_after_ms = 0; ///< 0: not said (and not sent)
};

/// The type and destination connection id of any datagram, or nothing for
/// one too short or of an unknown type.
struct peek_result {
  packet_type type;
  cid dcid;
};
std::optional<peek_result> peek(const uint8_t* data, size_t len);

bytes encode(const initial_packet& x);
bytes encode(const retry_packet& x);
bytes encode(const handshake_packet& x);
bytes encode(const abort_packet& x);

/// Decoders fail with `malformed_frame` (or `protocol_version_mismatch` for
/// an INITIAL of another version).
ec decode(const uint8_t* data, size_t len, initial_packet& out);
ec decode(const uint8_t* data, size_t len, retry_packet& out);
ec decode(const uint8_t* data, size_t len, handshake_packet& out);
ec decode(const uint8_t* data, size_t len, abort_packet& out);

// -- frames ------------------------------------------------------------------

enum class frame_type : uint8_t {
  padding = 0x00,
  ack = 0x01,
  stream = 0x02,
  ping = 0x03,
  max_data = 0x05,
};

/// Acknowledged packet numbers as ranges, highest first: [first, last].
struct ack_range {
  uint64_t low;
  uint64_t high;
};

struct ack_frame {
  std::vector<ack_range> ranges; ///< descending, non-overlapping, non-empty
  uint32_t delay_us = 0;
};

constexpr size_t max_ack_ranges = 32;
constexpr size_t stream_frame_overhead = 1 + 8 + 2;

void put_ack(bytes& out, const ack_frame& x);
void put_stream(bytes& out, uint64_t offset, const uint8_t* data, size_t len);
/// A STREAM frame's header alone: its `len` bytes of data must follow.
void put_stream_header(bytes& out, uint64_t offset, size_t len);
void put_ping(bytes& out);
void put_max_data(bytes& out, uint64_t limit);

/// What one decrypted DATA packet said.
struct frames {
  std::optional<ack_frame> ack;
  struct stream_part {
    uint64_t offset;
    const uint8_t* data;
    size_t len;
  };
  std::vector<stream_part> stream;
  std::optional<uint64_t> max_data;
  bool ack_eliciting = false; ///< anything but ACK and PADDING
};

/// Parses the plaintext of a DATA packet; `malformed_frame` on anything off
/// (and then `out` holds whatever was parsed before the fault).
ec parse_frames(const uint8_t* data, size_t len, frames& out);

} // namespace crust::rudp
