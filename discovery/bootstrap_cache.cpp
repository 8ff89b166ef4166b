#include "discovery/bootstrap_cache.hpp"

#include "transport/wire.hpp"
#include "transport/address.hpp"
#include "transport/hex.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace crust {

namespace {

constexpr int file_version = 1;

} // namespace

void bootstrap_cache::record_success(const endpoint& remote, const peer_id& peer, int64_t now) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const bootstrap_entry& x) {
                                  return x.remote == remote
                                         || (!peer.empty() && x.peer == peer);
                                }),
                 entries_.end());
  entries_.insert(entries_.begin(), bootstrap_entry{remote, peer, now, true});
  trim();
}

std::vector<bootstrap_entry>
bootstrap_cache::add_learned(const std::vector<bootstrap_entry>& xs) {
  std::vector<bootstrap_entry> added;
  // Learned entries go right behind the direct ones.
  auto first_learned = std::find_if(entries_.begin(), entries_.end(),
                                    [](const bootstrap_entry& x) { return !x.direct; });
  auto pos = static_cast<size_t>(first_learned - entries_.begin());
  for (auto& x : xs) {
    auto known = std::any_of(entries_.begin(), entries_.end(), [&](const bootstrap_entry& y) {
      return y.remote == x.remote || (!x.peer.empty() && y.peer == x.peer);
    });
    if (known || !wire::dialable(x.remote))
      continue;
    bootstrap_entry e{x.remote, x.peer, 0, false};
    entries_.insert(entries_.begin() + static_cast<ptrdiff_t>(pos), e);
    added.push_back(e);
  }
  trim();
  // Report only what survived the cap.
  added.erase(std::remove_if(added.begin(), added.end(),
                             [&](const bootstrap_entry& x) {
                               return std::none_of(entries_.begin(), entries_.end(),
                                                   [&](const bootstrap_entry& y) {
                                                     return y.remote == x.remote;
                                                   });
                             }),
              added.end());
  return added;
}

std::vector<bootstrap_entry> bootstrap_cache::serve(size_t n) const {
  std::vector<bootstrap_entry> result;
  for (auto& x : entries_) {
    if (result.size() >= n)
      break;
    if (x.direct)
      result.push_back(x);
  }
  return result;
}

void bootstrap_cache::trim() {
  // Direct entries are in front, so the oldest learned ones go first.
  if (entries_.size() > capacity_)
    entries_.resize(capacity_);
}

std::string bootstrap_cache::to_file(const std::string& network) const {
  nlohmann::json peers = nlohmann::json::array();
  for (auto& x : entries_)
    peers.push_back({{"endpoint", to_string(x.remote)},
                     {"peer", x.peer.empty() ? std::string() : to_string(x.peer)},
                     {"last_success", x.last_success},
                     {"direct", x.direct}});
  nlohmann::json j{{"crust_bootstrap_cache", file_version}, {"network", network},
                   {"peers", peers}};
  return j.dump(1) + "\n";
}

std::variant<bootstrap_cache, std::string>
bootstrap_cache::from_file(const std::string& text, const std::string& network,
                           size_t capacity, size_t& skipped) {
  skipped = 0;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded())
    return std::string{"not JSON"};
  if (!j.is_object() || !j.contains("crust_bootstrap_cache"))
    return std::string{"not a crust bootstrap cache"};
  if (j["crust_bootstrap_cache"] != file_version)
    return std::string{"unknown cache version " + j["crust_bootstrap_cache"].dump()};
  if (!j.contains("network") || !j["network"].is_string())
    return std::string{"no network name"};
  if (j["network"].get<std::string>() != network)
    return std::string{"cache of network '" + j["network"].get<std::string>() + "', not '"
                       + network + "'"};
  if (!j.contains("peers") || !j["peers"].is_array())
    return std::string{"no peer list"};
  bootstrap_cache result{capacity};
  for (auto& p : j["peers"]) {
    bootstrap_entry e;
    if (!p.is_object() || !p.contains("endpoint") || !p["endpoint"].is_string()) {
      ++skipped;
      continue;
    }
    auto ep = parse_endpoint(p["endpoint"].get<std::string>());
    if (!ep || !wire::dialable(*ep)) {
      ++skipped;
      continue;
    }
    e.remote = *ep;
    if (p.contains("peer") && p["peer"].is_string() && !p["peer"].get<std::string>().empty()) {
      auto id = peer_id_from_hex(p["peer"].get<std::string>());
      if (!id) {
        ++skipped;
        continue;
      }
      e.peer = *id;
    }
    if (p.contains("last_success") && p["last_success"].is_number_integer())
      e.last_success = p["last_success"].get<int64_t>();
    e.direct = p.contains("direct") && p["direct"].is_boolean() && p["direct"].get<bool>();
    auto dup = std::any_of(result.entries_.begin(), result.entries_.end(),
                           [&](const bootstrap_entry& y) { return y.remote == e.remote; });
    if (dup) {
      ++skipped;
      continue;
    }
    result.entries_.push_back(std::move(e));
  }
  // Whatever order the file had: direct first, most recent first.
  std::stable_sort(result.entries_.begin(), result.entries_.end(),
                   [](const bootstrap_entry& a, const bootstrap_entry& b) {
                     if (a.direct != b.direct)
                       return a.direct;
                     return a.direct && a.last_success > b.last_success;
                   });
  result.trim();
  return result;
}

} // namespace crust
