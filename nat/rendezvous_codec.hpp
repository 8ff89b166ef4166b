#pragma once

// Rendezvous messages (service `rendezvous`, docs/PROTOCOL.md §9): a peer
// both sides are connected to carries each side's connection info to the
// other.
//
//   INTRODUCE    0x01 | stage u8 | nonce u64 | target peer[32] | info
//                requester -> rendezvous peer: "hand this to target"
//   INTRODUCTION 0x02 | stage u8 | nonce u64 | source peer[32] | info
//                rendezvous peer -> target: "source wants to reach you"
//   UNREACHABLE  0x03 | stage u8 | nonce u64 | target peer[32] | reason u8
//                rendezvous peer -> requester: target not connected / refused
//   info = nat u8 | n u8 | n × endpoint | m u8 | m × endpoint  (local, external)
//
// Stage 0 is the initiator's offer, stage 1 the target's answer.

#include "messages/bytes.hpp"
#include "messages/connection_info.hpp"
#include "messages/ec.hpp"
#include "messages/peer_id.hpp"

#include <cstdint>

namespace crust {

/// Endpoints per list, at most: a longer list is refused as malformed.
constexpr size_t max_info_endpoints = 8;

struct rendezvous_msg {
  enum class kind : uint8_t { introduce = 1, introduction = 2, unreachable = 3 };
  kind type = kind::introduce;
  uint8_t stage = 0; ///< 0 offer, 1 answer
  uint64_t nonce = 0;
  peer_id peer;         ///< target (introduce, unreachable) or source (introduction)
  connection_info info; ///< introduce, introduction
  ec reason = ec::none; ///< unreachable
};

bytes encode(const rendezvous_msg& x);

/// Every length and count is checked; endpoints must be dialable. Errors:
/// truncated_frame, malformed_frame, unknown_frame_kind.
ec decode(const bytes& data, rendezvous_msg& out);

} // namespace crust
