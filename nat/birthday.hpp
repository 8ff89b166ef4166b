#pragma once

// Birthday probing and port prediction (NAT-TRAVERSAL.md "Hard NATs"):
// reaching a peer whose NAT maps per destination ("symmetric"), whose port
// towards us cannot be read off its info. Sans-I/O.
//
// The hard side (endpoint-dependent mapping) holds many sockets, each of
// which sends once to the easy side's mapped endpoint: each opens a mapping
// on the hard NAT, at a port nobody knows. The easy side (an endpoint-
// independent NAT) sends probes from its one socket to ports of the hard
// side's address. When a probe lands on one of the held mappings, that
// socket hears from the easy side: the path is open both ways (the probe
// opened the easy NAT towards that port). With n held mappings and k
// probes over the 64,512 ports, P(hit) ≈ 1 − (1 − n/64512)^k: n = 256 and
// k = 1024 give about 98 %.
//
// A NAT that allocates ports sequentially gives its next mapping the port
// after the last: there, probing the few ports after the highest one the
// peer's STUN servers saw finds the mapping at once.

#include "messages/connection_info.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace crust {

/// How a peer's NAT picks the port of each new mapping, as far as its
/// info tells.
enum class port_allocation : uint8_t {
  unknown,    ///< fewer than two mappings seen, or not a per-destination NAT
  sequential, ///< the mappings seen lie close together: the next follows
  random,     ///< spread over the port range
};

std::string to_string(port_allocation x);

/// Mappings further apart than this count as random allocation.
constexpr uint16_t sequential_spread = 64;

/// The mappings a per-destination NAT made for a peer (its external UDP
/// endpoints: what its STUN servers saw), on the address they share. Empty
/// for any other peer, and when they disagree on the address.
std::vector<endpoint> dependent_mappings(const connection_info& x);

/// How the peer's NAT allocates ports, judged from `dependent_mappings`.
port_allocation guess_allocation(const connection_info& x);

/// The `window` ports after the highest mapping a sequential NAT made (the
/// ones its next mappings take); empty unless `guess_allocation` says
/// sequential. Ports wrap within 1024–65535.
std::vector<uint16_t> predicted_ports(const connection_info& x, size_t window);

/// How much probing one attempt may do: strict bounds, so that it never
/// amounts to a port scan of anyone.
struct probe_budget {
  size_t probes = 1024;          ///< the easy side's probes per attempt, at most
  size_t probes_per_second = 500; ///< ... and per second
  size_t sockets = 256;          ///< the hard side's sockets per attempt, at most
  size_t sockets_per_second = 2000; ///< ... opened per second
};

/// Paces `total` actions at `per_second` from `start`: at any time, at most
/// 1 + per_second × elapsed of them have been allowed, and never more than
/// `total`.
class pacer {
public:
  using clock = std::chrono::steady_clock;

  pacer() = default;
  pacer(size_t total, size_t per_second, clock::time_point start);

  /// How many more may go now (and counts them as gone).
  size_t take(clock::time_point now);

  size_t taken() const { return taken_; }
  size_t total() const { return total_; }
  bool done() const { return taken_ >= total_; }

  /// When everything will have been allowed.
  clock::time_point finish() const;

private:
  size_t total_ = 0;
  size_t per_second_ = 1;
  clock::time_point start_;
  size_t taken_ = 0;
};

/// The easy side's probe schedule: `first` (predicted ports) in order,
/// then ports drawn at random from 1024–65535, none twice, at the
/// budget's pace and never beyond it.
class port_probe {
public:
  using clock = pacer::clock;

  port_probe(std::vector<uint16_t> first, const probe_budget& budget, uint64_t seed,
             clock::time_point start);

  /// The ports to probe now.
  std::vector<uint16_t> due(clock::time_point now);

  size_t sent() const { return pace_.taken(); }
  bool exhausted() const { return pace_.done(); }
  clock::time_point finish() const { return pace_.finish(); }

private:
  uint16_t next_port();

  std::vector<uint16_t> first_;
  size_t next_first_ = 0;
  pacer pace_;
  std::mt19937_64 rng_;
  std::unordered_set<uint16_t> used_;
};

} // namespace crust
