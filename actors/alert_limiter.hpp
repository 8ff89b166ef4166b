#pragma once

#include "messages/events.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

namespace crust {

/// Rate-limits alerts to the routing layer: one alert per kind and source
/// (address or peer) per interval. Alerts in between are not lost: their
/// counts go into the next one, which `flush` emits once the interval is
/// over. At most `max_sources` sources are tracked; beyond that, alerts of a
/// kind are pooled under one entry with no address ("from many sources"),
/// so a flood from many addresses cannot grow the table. Sans-I/O.
class alert_limiter {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit alert_limiter(std::chrono::milliseconds interval, size_t max_sources = 1024)
    : interval_(interval), max_sources_(max_sources) {
  }

  /// The alert to send now, or nothing when it was counted for later.
  std::optional<alert> offer(alert a, time_point now);

  /// Alerts whose interval ended with counts pending; forgets quiet sources.
  std::vector<alert> flush(time_point now);

  /// True when some counts wait for `flush`.
  bool pending() const;

  size_t sources() const { return entries_.size(); }

private:
  using key = std::tuple<alert_kind, std::string, peer_id>;
  struct entry {
    time_point last_sent;
    alert held; ///< the latest alert, with the count held back
    uint64_t held_count = 0;
  };

  std::chrono::milliseconds interval_;
  size_t max_sources_;
  std::map<key, entry> entries_;
};

} // namespace crust
