#pragma once

// A relay node's circuits, sans-I/O: which (peer, circuit id) is joined to
// which, and the limits that keep relaying cheap for us: circuits in all
// and per peer, bytes and lifetime per circuit.

#include "messages/ec.hpp"
#include "messages/peer_id.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace crust {

struct relay_limits {
  size_t max_circuits = 64;
  /// As either end: a peer behind a random-port NAT may reach all of its
  /// peers through one relay (crust-node's --routing=xor keeps 10).
  size_t circuits_per_peer = 16;
  uint64_t max_bytes = 256ull << 20;   ///< per circuit, both ways together
  std::chrono::seconds max_duration{1800};
};

class relay_table {
public:
  using clock = std::chrono::steady_clock;

  struct side {
    peer_id peer;
    uint64_t circuit = 0;
  };

  explicit relay_table(relay_limits limits = {}) : limits_(limits) {}

  /// `from` opens its circuit `id` to `target`; the target's side gets
  /// `fresh_id`. The target's side, or why not (too_many_connections,
  /// invalid_argument for a reused id or a circuit to oneself).
  std::pair<std::optional<side>, ec> open(const peer_id& from, uint64_t id, const peer_id& target,
                                          uint64_t fresh_id, clock::time_point now);

  /// Where `n` bytes from (from, id) go. Nothing for an unknown circuit.
  /// The circuit is removed, and `why` says so, when it goes over its byte
  /// limit (`message_too_large`) or when `from` has more than `relay_window`
  /// bytes unacknowledged (`send_queue_full`: a sender that ignores the
  /// window would pile up in our queue towards the other end).
  std::optional<side> route(const peer_id& from, uint64_t id, size_t n, ec& why);

  /// Where an ACK of `n` bytes from (from, id) goes: it returns window to
  /// the other end. Nothing for an unknown circuit.
  std::optional<side> ack(const peer_id& from, uint64_t id, size_t n);

  /// The other side of (from, id), without counting bytes.
  std::optional<side> other(const peer_id& from, uint64_t id) const;

  /// Removes (from, id)'s circuit; the other side to tell, if it existed.
  std::optional<side> close(const peer_id& from, uint64_t id);

  /// Removes every circuit `p` is an end of; the other ends to tell.
  std::vector<side> drop_peer(const peer_id& p);

  /// Removes circuits older than the limit; both ends of each to tell.
  std::vector<side> expire(clock::time_point now);

  size_t size() const { return circuits_.size(); }
  uint64_t total_bytes() const { return total_bytes_; }
  uint64_t total_circuits() const { return total_circuits_; }

private:
  struct circuit {
    side a;
    side b;
    uint64_t bytes = 0;
    clock::time_point opened;
    size_t unacked_a = 0; ///< sent by a, not yet ACKed by b
    size_t unacked_b = 0; ///< sent by b, not yet ACKed by a
  };
  using key = std::pair<peer_id, uint64_t>;

  size_t count_of(const peer_id& p) const;
  void erase(uint64_t index);

  relay_limits limits_;
  std::map<uint64_t, circuit> circuits_; ///< by our own index
  std::map<key, uint64_t> by_side_;
  uint64_t next_index_ = 1;
  uint64_t total_bytes_ = 0;
  uint64_t total_circuits_ = 0;
};

} // namespace crust
