#include "actors/admission.hpp"

#include <algorithm>
#include <cmath>

namespace crust {

std::optional<blacklist_entry> parse_address_or_subnet(const std::string& text) {
  blacklist_entry e;
  auto slash = text.find('/');
  e.address = text.substr(0, slash);
  if (slash == std::string::npos) {
    e.kind = blacklist_kind::address;
  } else {
    auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3
        || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    auto len = std::stoul(digits);
    if (len > 128)
      return std::nullopt;
    e.kind = blacklist_kind::subnet;
    e.prefix_len = static_cast<uint8_t>(len);
  }
  address_blacklist probe;
  if (probe.add(e))
    return std::nullopt;
  return e;
}

std::optional<std::string> admission_control::check(const limits_config& cfg) {
  for (auto& text : cfg.allow_only)
    if (!parse_address_or_subnet(text))
      return "not an address or subnet: \"" + text + "\"";
  if (cfg.connection_rate < 0)
    return std::string("connection rate must not be negative");
  return std::nullopt;
}

admission_control::admission_control(limits_config cfg) : cfg_(std::move(cfg)) {
  for (auto& text : cfg_.allow_only)
    if (auto e = parse_address_or_subnet(text))
      allowed_.add(*e);
}

void admission_control::reconfigure(limits_config cfg) {
  cfg_ = std::move(cfg);
  allowed_ = address_blacklist{};
  for (auto& text : cfg_.allow_only)
    if (auto e = parse_address_or_subnet(text))
      allowed_.add(*e);
}

admission_control::verdict admission_control::admit_inbound(const std::string& address,
                                                            size_t links, time_point now) {
  if (!cfg_.allow_only.empty() && !allowed_.blocks_address(address))
    return verdict::not_allowed;
  if (links >= cfg_.max_connections)
    return verdict::too_many_connections;
  if (half_open_ >= cfg_.max_half_open)
    return verdict::too_many_half_open;
  auto i = half_open_by_address_.find(address);
  if (i != half_open_by_address_.end() && i->second >= cfg_.max_half_open_per_address)
    return verdict::too_many_half_open_from_address;
  if (!take_token(address, now))
    return verdict::rate_exceeded;
  ++half_open_;
  ++half_open_by_address_[address];
  return verdict::admit;
}

void admission_control::handshake_over(const std::string& address) {
  auto i = half_open_by_address_.find(address);
  if (i == half_open_by_address_.end())
    return;
  --half_open_;
  if (--i->second == 0)
    half_open_by_address_.erase(i);
}

std::chrono::milliseconds admission_control::retry_after(verdict v, const std::string& address,
                                                         time_point now) {
  using namespace std::chrono_literals;
  using std::chrono::milliseconds;
  switch (v) {
    case verdict::admit: return 0ms;
    case verdict::not_allowed: return 600000ms;
    case verdict::too_many_connections: return 30000ms;
    case verdict::too_many_half_open:
    case verdict::too_many_half_open_from_address: return 1000ms; // handshakes take milliseconds
    case verdict::rate_exceeded: break;
  }
  auto i = buckets_.find(address);
  if (i == buckets_.end() || cfg_.connection_rate <= 0)
    return 1000ms;
  auto& b = i->second;
  if (now - b.window_start >= 1s) {
    b.refused_prev_window = now - b.window_start < 2s ? b.refused_in_window : 0;
    b.window_start = now;
    b.refused_in_window = 0;
  }
  ++b.refused_in_window;
  auto per_token = std::chrono::duration_cast<clock::duration>(
    std::chrono::duration<double>(1.0 / cfg_.connection_rate));
  // When this address next has a whole token, or the next free slot after
  // those already handed out, whichever is later.
  auto refill = std::chrono::duration_cast<clock::duration>(
    std::chrono::duration<double>(std::max(0.0, 1.0 - b.tokens) / cfg_.connection_rate));
  auto slot = std::max(b.next_slot, now + refill);
  b.next_slot = slot + per_token;
  auto wait = std::chrono::duration_cast<milliseconds>(slot - now);
  return std::clamp<milliseconds>(wait, 100ms, 60000ms);
}

bool admission_control::rate_flood(const std::string& address) const {
  auto i = buckets_.find(address);
  if (i == buckets_.end())
    return false;
  auto limit = std::max<size_t>(std::max<size_t>(1, cfg_.connection_burst),
                                static_cast<size_t>(std::ceil(2 * cfg_.connection_rate)));
  return i->second.refused_in_window > limit && i->second.refused_prev_window > limit;
}

size_t admission_control::half_open_from(const std::string& address) const {
  auto i = half_open_by_address_.find(address);
  return i == half_open_by_address_.end() ? 0 : i->second;
}

bool admission_control::take_token(const std::string& address, time_point now) {
  if (cfg_.connection_rate <= 0)
    return true;
  auto burst = static_cast<double>(std::max<size_t>(1, cfg_.connection_burst));
  auto i = buckets_.find(address);
  if (i == buckets_.end()) {
    if (cfg_.tracked_addresses > 0 && buckets_.size() >= cfg_.tracked_addresses) {
      buckets_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(address);
    i = buckets_.emplace(address, bucket{burst, now, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, i->second.age);
    auto elapsed = std::chrono::duration<double>(now - i->second.last).count();
    i->second.tokens = std::min(burst, i->second.tokens + std::max(0.0, elapsed) * cfg_.connection_rate);
    i->second.last = now;
  }
  if (i->second.tokens < 1.0)
    return false;
  i->second.tokens -= 1.0;
  return true;
}

std::string to_string(admission_control::verdict x) {
  using v = admission_control::verdict;
  switch (x) {
    case v::admit: return "admit";
    case v::not_allowed: return "not on the whitelist";
    case v::too_many_connections: return "connection limit reached";
    case v::too_many_half_open: return "half-open handshake limit reached";
    case v::too_many_half_open_from_address: return "half-open handshake limit per address reached";
    case v::rate_exceeded: return "connection rate per address exceeded";
  }
  return "unknown";
}

} // namespace crust
