#pragma once

// What reachability checks found (nat/reachability_codec): per endpoint of
// ours, which peers reached it from outside and which tried and could not.
// Sans-I/O and bounded.

#include "messages/endpoint.hpp"
#include "messages/peer_id.hpp"
#include "nat/reachability_codec.hpp"

#include <map>
#include <set>
#include <vector>

namespace crust {

class reachability_record {
public:
  /// Endpoints remembered, at most; results for more are dropped.
  static constexpr size_t max_endpoints = 32;

  /// One peer's word on one endpoint (`refused` is no evidence: ignored).
  void on_result(const peer_id& by, const endpoint& ep, reach_status status);

  /// Endpoints at least one peer reached.
  std::vector<endpoint> reachable() const;

  /// Endpoints peers tried and none reached.
  std::vector<endpoint> unreachable() const;

  bool is_unreachable(const endpoint& ep) const;

private:
  struct entry {
    std::set<peer_id> reached;
    std::set<peer_id> missed;
  };
  std::map<endpoint, entry> entries_;
};

} // namespace crust
