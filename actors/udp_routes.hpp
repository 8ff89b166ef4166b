#pragma once

#include "actors/internal_messages.hpp"

#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace crust {

/// Which connection actor owns each of our reliable-UDP connection ids. The
/// mux actor writes it as connections come and go; the socket's thread reads
/// it for every datagram, so DATA packets go straight to their connection
/// without a hop through the mux.
class udp_routes {
public:
  void set(uint64_t cid, connection_actor conn) {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    routes_[cid] = std::move(conn);
  }

  void erase(uint64_t cid) {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    routes_.erase(cid);
  }

  /// The connection for `cid`, or an invalid handle.
  connection_actor find(uint64_t cid) const {
    std::shared_lock<std::shared_mutex> guard{mtx_};
    auto i = routes_.find(cid);
    return i == routes_.end() ? connection_actor{} : i->second;
  }

private:
  mutable std::shared_mutex mtx_;
  std::unordered_map<uint64_t, connection_actor> routes_;
};

} // namespace crust
