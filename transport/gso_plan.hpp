#pragma once

#include <cstddef>
#include <vector>

namespace crust {

/// A run of consecutive datagrams that the kernel can send as one
/// UDP_SEGMENT (GSO) buffer: every datagram but the last is exactly
/// `segment` bytes, the last is at most that.
struct gso_run {
  size_t first = 0;   ///< index of the first datagram
  size_t count = 0;   ///< how many datagrams
  size_t segment = 0; ///< the size of each but the last
};

/// Linux caps one GSO buffer at 64 segments (UDP_MAX_SEGMENTS on older
/// kernels) and at one IP datagram's payload.
constexpr size_t gso_max_segments = 64;
constexpr size_t gso_max_bytes = 65000;

/// Splits datagrams of the given sizes, in order, into the fewest runs that
/// each obey the GSO rules above (a datagram alone is a run of one).
/// Sans-I/O: the socket adapter turns each run into one message of a
/// `sendmmsg` call.
std::vector<gso_run> plan_gso_runs(const std::vector<size_t>& sizes,
                                   size_t max_segments = gso_max_segments,
                                   size_t max_bytes = gso_max_bytes);

} // namespace crust
