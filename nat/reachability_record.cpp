#include "nat/reachability_record.hpp"

namespace crust {

void reachability_record::on_result(const peer_id& by, const endpoint& ep, reach_status status) {
  if (status == reach_status::refused)
    return;
  auto i = entries_.find(ep);
  if (i == entries_.end()) {
    if (entries_.size() >= max_endpoints)
      return;
    i = entries_.emplace(ep, entry{}).first;
  }
  // A peer's latest word replaces its earlier one.
  if (status == reach_status::reachable) {
    i->second.missed.erase(by);
    i->second.reached.insert(by);
  } else {
    i->second.reached.erase(by);
    i->second.missed.insert(by);
  }
}

std::vector<endpoint> reachability_record::reachable() const {
  std::vector<endpoint> out;
  for (auto& [ep, e] : entries_)
    if (!e.reached.empty())
      out.push_back(ep);
  return out;
}

std::vector<endpoint> reachability_record::unreachable() const {
  std::vector<endpoint> out;
  for (auto& [ep, e] : entries_)
    if (e.reached.empty() && !e.missed.empty())
      out.push_back(ep);
  return out;
}

bool reachability_record::is_unreachable(const endpoint& ep) const {
  auto i = entries_.find(ep);
  return i != entries_.end() && i->second.reached.empty() && !i->second.missed.empty();
}

} // namespace crust
