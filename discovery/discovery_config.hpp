#pragma once

#include "messages/endpoint.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crust {

/// Which LAN beacon to run.
enum class beacon_mode : uint8_t { off = 0, ipv4 = 1, ipv6 = 2, both = 3 };

/// The IPv6 link-local multicast group beacons go to (port: beacon_port).
constexpr const char* beacon_ipv6_group = "ff02::5483";

/// Discovery's part of a node's configuration.
struct discovery_config {
  // -- bootstrap cache and bootstrapping -----------------------------------------
  std::string cache_path;          ///< empty: keep the cache in memory only
  size_t cache_capacity = 64;      ///< entries kept
  std::chrono::milliseconds cache_write_delay{1000}; ///< coalesce writes this long
  size_t bootstrap_target = 4;     ///< bootstrap while fewer connections than this
  size_t bootstrap_parallel = 4;   ///< dials at once
  std::chrono::milliseconds bootstrap_attempt_timeout{10000};  ///< one bootstrap dial is given up after this long
  /// After a round that ended below the target, the next starts after this
  /// (jittered), doubling each round up to `bootstrap_backoff_max`.
  std::chrono::milliseconds bootstrap_backoff_min{1000};
  std::chrono::milliseconds bootstrap_backoff_max{30000};  ///< the longest wait between rounds
  std::vector<endpoint> fallback_contacts; ///< tried when the cache does not suffice
  bool serve_bootstrap_list = true; ///< answer peers that ask for our list
  bool ask_bootstrap_list = true;   ///< ask each new peer for its list

  // -- LAN beacon ----------------------------------------------------------------
  beacon_mode beacon = beacon_mode::off;  ///< which beacon to run (crust-node: both)
  uint16_t beacon_port = 5483;  ///< the beacon's UDP port
  std::chrono::milliseconds beacon_interval{10000};  ///< announce this often

  // -- gossip ----------------------------------------------------------------------
  bool gossip = true;  ///< exchange signed peer records
  std::chrono::milliseconds gossip_interval{30000}; ///< re-announce our record
  uint8_t gossip_ttl = 4;          ///< hops a record travels
  size_t gossip_fanout = 4;        ///< peers a new record is forwarded to
  size_t gossip_records = 1024;    ///< records remembered
  std::chrono::seconds record_lifetime{3600};  ///< our record's lifetime
};

inline std::string to_string(beacon_mode x) {
  switch (x) {
    case beacon_mode::off: return "off";
    case beacon_mode::ipv4: return "ipv4";
    case beacon_mode::ipv6: return "ipv6";
    case beacon_mode::both: return "both";
  }
  return "unknown";
}

/// "off", "ipv4", "ipv6" or "both"; none for anything else.
inline std::optional<beacon_mode> parse_beacon_mode(const std::string& x) {
  if (x == "off")
    return beacon_mode::off;
  if (x == "ipv4")
    return beacon_mode::ipv4;
  if (x == "ipv6")
    return beacon_mode::ipv6;
  if (x == "both")
    return beacon_mode::both;
  return std::nullopt;
}

} // namespace crust
