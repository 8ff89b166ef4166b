#pragma once

// The LAN beacon datagram:
//
//   magic "CRSTBCN" (7) | version u8 (1) | flags u8 | len u8 | network
//   | peer record (discovery/peer_record_codec.hpp) | padding (zeros)
//
// flags bit 0 ("query"): the sender asks listeners to answer it directly.
// A query is padded to `beacon_query_size` bytes and an answer is never
// larger than the query it answers, so a beacon cannot amplify traffic.

#include "messages/bytes.hpp"
#include "messages/ec.hpp"
#include "messages/peer_record.hpp"

#include <string>

namespace crust {

constexpr size_t beacon_query_size = 640;
constexpr size_t max_beacon_size = 1024;
constexpr uint8_t beacon_flag_query = 0x01;

struct beacon_packet {
  bool query = false;
  std::string network;
  peer_record record;
};

bytes encode_beacon(const beacon_packet& x);

/// The outcome of reading a datagram.
enum class beacon_verdict {
  ok,             ///< a valid beacon of our network
  other_network,  ///< well-formed, another network's: ignore quietly
  malformed,      ///< not a beacon (or not well-formed)
  forged,         ///< the record's signature or endpoints do not check out
};

beacon_verdict decode_beacon(const uint8_t* data, size_t len, const std::string& network,
                             beacon_packet& out);

} // namespace crust
