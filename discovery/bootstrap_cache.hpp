#pragma once

#include "messages/bootstrap_entry.hpp"

#include <string>
#include <variant>
#include <vector>

namespace crust {

/// The bootstrap cache, sans-I/O: endpoints of peers we connected to
/// directly (most recent first), then endpoints learned from peers' lists,
/// capped. `to_file` / `from_file` are the on-disk form (JSON):
///
///   {"crust_bootstrap_cache": 1, "network": "crust",
///    "peers": [{"endpoint": "tcp://198.51.100.7:5483", "peer": "<64 hex>",
///               "last_success": 1764051234, "direct": true}, ...]}
class bootstrap_cache {
public:
  explicit bootstrap_cache(size_t capacity = 64) : capacity_(capacity == 0 ? 1 : capacity) {}

  /// We connected to `remote` ourselves at `now` (Unix seconds). The entry
  /// moves to the front; the peer's entries at other endpoints go.
  void record_success(const endpoint& remote, const peer_id& peer, int64_t now);

  /// Entries from a peer's list: added behind the direct ones, never
  /// replacing them. Returns the ones that were new.
  std::vector<bootstrap_entry> add_learned(const std::vector<bootstrap_entry>& xs);

  /// Direct entries, most recent first, then learned ones, newest first.
  const std::vector<bootstrap_entry>& entries() const { return entries_; }

  /// Up to `n` direct entries: what we tell a peer that asks.
  std::vector<bootstrap_entry> serve(size_t n) const;

  size_t capacity() const { return capacity_; }

  std::string to_file(const std::string& network) const;

  /// Parses a cache file. A file that is not JSON, not a crust cache, of
  /// another version or of another network is an error (the string says
  /// which). Entries that do not parse are skipped and counted in `skipped`.
  static std::variant<bootstrap_cache, std::string>
  from_file(const std::string& text, const std::string& network, size_t capacity,
            size_t& skipped);

private:
  void trim();

  size_t capacity_;
  std::vector<bootstrap_entry> entries_;
};

} // namespace crust
