#include "nat/nat_classifier.hpp"

#include <algorithm>

namespace crust {

void nat_classifier::set_local(std::vector<std::string> addresses, uint16_t port) {
  addresses_ = std::move(addresses);
  port_ = port;
}

void nat_classifier::on_mapping(const endpoint& server, const endpoint& mapped) {
  for (auto& s : seen_)
    if (s.server == server) {
      s.mapped = mapped; // the latest answer counts
      return;
    }
  seen_.push_back({server, mapped});
}

nat_class nat_classifier::classify() const {
  if (seen_.empty())
    return nat_class::unknown;
  for (auto& s : seen_)
    if (s.mapped.port == port_
        && std::find(addresses_.begin(), addresses_.end(), s.mapped.address) != addresses_.end())
      return nat_class::none;
  // Two servers at different addresses are needed to tell the kinds apart.
  for (size_t i = 0; i < seen_.size(); ++i)
    for (size_t j = i + 1; j < seen_.size(); ++j)
      if (seen_[i].server.address != seen_[j].server.address) {
        bool same = seen_[i].mapped == seen_[j].mapped;
        if (!same)
          return nat_class::endpoint_dependent;
      }
  for (size_t i = 0; i < seen_.size(); ++i)
    for (size_t j = i + 1; j < seen_.size(); ++j)
      if (seen_[i].server.address != seen_[j].server.address)
        return nat_class::endpoint_independent;
  return nat_class::unknown; // behind a NAT, of a kind one server cannot tell
}

std::optional<endpoint> nat_classifier::external() const {
  auto cls = classify();
  if (seen_.empty() || cls == nat_class::endpoint_dependent)
    return std::nullopt;
  return seen_.front().mapped;
}

std::vector<endpoint> nat_classifier::mapped() const {
  std::vector<endpoint> out;
  for (auto& s : seen_)
    if (std::find(out.begin(), out.end(), s.mapped) == out.end())
      out.push_back(s.mapped);
  return out;
}

std::vector<endpoint> nat_classifier::servers() const {
  std::vector<endpoint> out;
  for (auto& s : seen_)
    out.push_back(s.server);
  return out;
}

} // namespace crust
