#pragma once

// crust-node's read-only view for people and scrapers: the snapshot the
// controller refreshes every second, rendered as Prometheus text, a JSON
// document and one HTML page (no external assets, refreshing itself).
// Nothing here changes the node; private keys and message contents never
// reach it (the snapshot holds neither).

#include "actors/metrics.hpp"

#include <memory>
#include <mutex>
#include <string>

namespace crust {

/// The rendered documents, swapped whole under a lock: the HTTP threads
/// only ever copy a string out.
class status_board {
public:
  struct documents {
    std::string metrics; ///< Prometheus text exposition format
    std::string json;    ///< /status.json
    std::string html;    ///< /
  };

  void publish(documents d) {
    auto p = std::make_shared<const documents>(std::move(d));
    std::lock_guard<std::mutex> guard{mtx_};
    docs_ = std::move(p);
  }

  /// The latest documents (empty ones before the first snapshot).
  std::shared_ptr<const documents> current() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return docs_ ? docs_ : std::make_shared<const documents>();
  }

private:
  mutable std::mutex mtx_;
  std::shared_ptr<const documents> docs_;
};

/// The status as JSON: id, version, NAT class and external endpoints,
/// bootstrap state, counters, and the peer table.
std::string status_json(const metrics_input& in);

/// The status page: the same, as one self-contained HTML page that reloads
/// itself every `refresh_seconds`. Every value is HTML-escaped.
std::string status_html(const metrics_input& in, int refresh_seconds = 2);

/// All three documents of one snapshot.
status_board::documents render_status(const metrics_input& in);

} // namespace crust
