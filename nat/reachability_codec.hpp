#pragma once

// Reachability checks (service `reachability`, docs/PROTOCOL.md §9, what
// libp2p calls AutoNAT): a node asks a connected peer to dial it back on the
// endpoints it would advertise, and learns which of them the outside can
// reach.
//
//   CHECK   0x01 | nonce u64 | n u8 | n × endpoint
//           "dial me back on these" (n at most max_check_endpoints)
//   RESULT  0x02 | nonce u64 | n u8 | n × (endpoint | status u8)
//           what each dial-back found
//
// The peer dials only endpoints at the address it sees the requester
// connect from (anything else is `refused`: a check must never point our
// dials at a third party), and its probe connections say so in their
// handshake (feature_probe), so the requester never takes them for links.

#include "messages/bytes.hpp"
#include "messages/ec.hpp"
#include "messages/endpoint.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace crust {

/// Endpoints per check, at most: a longer list is refused as malformed.
constexpr size_t max_check_endpoints = 8;

/// What a dial-back found.
enum class reach_status : uint8_t {
  reachable = 1,   ///< the probe connected and met the requester's identity
  unreachable = 2, ///< the probe did not get through (or met somebody else)
  refused = 3,     ///< not dialled: not at the requester's address, or too many checks
};

std::string to_string(reach_status x);

struct reachability_msg {
  enum class kind : uint8_t { check = 1, result = 2 };
  kind type = kind::check;
  uint64_t nonce = 0;
  std::vector<endpoint> endpoints;   ///< check
  std::vector<std::pair<endpoint, reach_status>> results; ///< result
};

bytes encode(const reachability_msg& x);

/// Every length and count is checked; endpoints must be dialable. Errors:
/// truncated_frame, malformed_frame, unknown_frame_kind.
ec decode(const bytes& data, reachability_msg& out);

} // namespace crust
