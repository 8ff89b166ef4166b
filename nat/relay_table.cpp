#include "nat/relay_table.hpp"

#include "nat/relay_codec.hpp"

#include <algorithm>

namespace crust {

size_t relay_table::count_of(const peer_id& p) const {
  size_t n = 0;
  for (auto& [index, c] : circuits_)
    if (c.a.peer == p || c.b.peer == p)
      ++n;
  return n;
}

void relay_table::erase(uint64_t index) {
  auto i = circuits_.find(index);
  if (i == circuits_.end())
    return;
  by_side_.erase({i->second.a.peer, i->second.a.circuit});
  by_side_.erase({i->second.b.peer, i->second.b.circuit});
  circuits_.erase(i);
}

std::pair<std::optional<relay_table::side>, ec>
relay_table::open(const peer_id& from, uint64_t id, const peer_id& target, uint64_t fresh_id,
                  clock::time_point now) {
  if (from == target || by_side_.count({from, id}) > 0 || by_side_.count({target, fresh_id}) > 0)
    return {std::nullopt, ec::invalid_argument};
  if (circuits_.size() >= limits_.max_circuits || count_of(from) >= limits_.circuits_per_peer
      || count_of(target) >= limits_.circuits_per_peer)
    return {std::nullopt, ec::too_many_connections};
  auto index = next_index_++;
  circuits_[index] = circuit{{from, id}, {target, fresh_id}, 0, now};
  by_side_[{from, id}] = index;
  by_side_[{target, fresh_id}] = index;
  ++total_circuits_;
  return {side{target, fresh_id}, ec::none};
}

std::optional<relay_table::side> relay_table::other(const peer_id& from, uint64_t id) const {
  auto i = by_side_.find({from, id});
  if (i == by_side_.end())
    return std::nullopt;
  auto& c = circuits_.at(i->second);
  return c.a.peer == from && c.a.circuit == id ? c.b : c.a;
}

std::optional<relay_table::side> relay_table::route(const peer_id& from, uint64_t id, size_t n,
                                                    ec& why) {
  why = ec::none;
  auto i = by_side_.find({from, id});
  if (i == by_side_.end())
    return std::nullopt;
  auto index = i->second;
  auto& c = circuits_.at(index);
  bool from_a = c.a.peer == from && c.a.circuit == id;
  auto to = from_a ? c.b : c.a;
  auto& unacked = from_a ? c.unacked_a : c.unacked_b;
  unacked += n;
  c.bytes += n;
  total_bytes_ += n;
  if (c.bytes > limits_.max_bytes)
    why = ec::message_too_large;
  else if (unacked > relay_window)
    why = ec::send_queue_full;
  if (why != ec::none)
    erase(index);
  return to;
}

std::optional<relay_table::side> relay_table::ack(const peer_id& from, uint64_t id, size_t n) {
  auto i = by_side_.find({from, id});
  if (i == by_side_.end())
    return std::nullopt;
  auto& c = circuits_.at(i->second);
  bool from_a = c.a.peer == from && c.a.circuit == id;
  // An ACK from one end returns what the other end sent.
  auto& unacked = from_a ? c.unacked_b : c.unacked_a;
  unacked -= std::min(n, unacked);
  return from_a ? c.b : c.a;
}

std::optional<relay_table::side> relay_table::close(const peer_id& from, uint64_t id) {
  auto to = other(from, id);
  if (to)
    erase(by_side_.at({from, id}));
  return to;
}

std::vector<relay_table::side> relay_table::drop_peer(const peer_id& p) {
  std::vector<side> out;
  std::vector<uint64_t> gone;
  for (auto& [index, c] : circuits_) {
    if (c.a.peer == p)
      out.push_back(c.b);
    else if (c.b.peer == p)
      out.push_back(c.a);
    else
      continue;
    gone.push_back(index);
  }
  for (auto index : gone)
    erase(index);
  return out;
}

std::vector<relay_table::side> relay_table::expire(clock::time_point now) {
  std::vector<side> out;
  std::vector<uint64_t> gone;
  for (auto& [index, c] : circuits_)
    if (now - c.opened > limits_.max_duration) {
      out.push_back(c.a);
      out.push_back(c.b);
      gone.push_back(index);
    }
  for (auto index : gone)
    erase(index);
  return out;
}

} // namespace crust
