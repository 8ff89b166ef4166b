#pragma once

// Leveled, line-oriented logging. Every line names the node and, when the
// line is about a peer, the peer by its short id:
//
//   2026-11-25T06:25:00.123Z INFO  node=1a2b3c4d peer=5e6f7a8b manager: connection up ...
//
// Formatting happens only when the level is enabled (use CRUST_LOG). Lines
// go to a sink (default: stderr), one call per line, safe from any thread.

#include "messages/peer_id.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace crust {

enum class log_level : uint8_t { off = 0, error, warning, info, debug, trace };

std::string to_string(log_level x);

/// Parses "off", "error", "warning" (or "warn"), "info", "debug", "trace".
std::optional<log_level> parse_log_level(std::string_view str);

/// Writes log lines at or above its level to its sink (stderr by default);
/// every line names the node and, when known, the peer.
class logger {
public:
  /// Receives each finished line, without the trailing newline.
  using sink = std::function<void(log_level, const std::string& line)>;

  /// `out` empty: lines go to stderr.
  logger(log_level level, const peer_id& node, sink out = {});

  bool enabled(log_level x) const {
    return x != log_level::off && x <= level_.load(std::memory_order_relaxed);
  }  ///< true when lines of level `x` are written

  /// Changes the level (a reload); safe while other threads log.
  void set_level(log_level x) const { level_.store(x, std::memory_order_relaxed); }

  log_level level() const { return level_.load(std::memory_order_relaxed); } ///< the level now

  /// Writes one line; `peer` may be null when the line concerns no peer.
  void write(log_level x, const peer_id* peer, std::string_view component,
             const std::string& text) const;

private:
  mutable std::atomic<log_level> level_; ///< changes on a reload, nothing else does
  std::string node_;
  sink out_;
};

using logger_ptr = std::shared_ptr<const logger>;

} // namespace crust

/// CRUST_LOG(lg, info, &peer, "manager", "connection up via " << addr);
/// `lg` is a logger pointer (may be null); the stream expression is only
/// evaluated when the level is enabled.
#define CRUST_LOG(lg, lvl, peer, component, expr)                                        \
  do {                                                                                   \
    if ((lg) && (lg)->enabled(::crust::log_level::lvl)) {                                \
      std::ostringstream crust_log_os_;                                                  \
      crust_log_os_ << expr;                                                             \
      (lg)->write(::crust::log_level::lvl, (peer), (component), crust_log_os_.str());    \
    }                                                                                    \
  } while (false)
