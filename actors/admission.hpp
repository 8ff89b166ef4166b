#pragma once

#include "actors/blacklist.hpp"
#include "actors/limits_config.hpp"

#include <chrono>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

namespace crust {

/// Decides, before any cryptography, whether an inbound connection from an
/// address may start its handshake: the whitelist, the connection limit,
/// the half-open limits (all sources, one address) and the per-address
/// connection rate. Sans-I/O: fed addresses, link counts and the time.
/// Memory is bounded: half-open counts exist only for addresses with
/// handshakes under way (at most `max_half_open`), rate buckets for at most
/// `tracked_addresses` addresses (least recently seen forgotten first).
class admission_control {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  enum class verdict {
    admit,
    not_allowed,          ///< whitelist mode, and the address is not listed
    too_many_connections, ///< `max_connections` links exist
    too_many_half_open,   ///< `max_half_open` handshakes are under way
    too_many_half_open_from_address,
    rate_exceeded,        ///< the address opened too many connections lately
  };

  explicit admission_control(limits_config cfg = {});

  /// Says why the config is unusable (a malformed whitelist entry).
  static std::optional<std::string> check(const limits_config& cfg);

  /// An inbound connection from `address` while `links` links exist. On
  /// `admit`, counts one handshake under way from the address.
  verdict admit_inbound(const std::string& address, size_t links, time_point now);

  /// How long a dialer refused with `v` (just now, from `address`) should
  /// wait before it comes back. For the rate limit it is the dialer's own
  /// slot: refused dialers from one address are told times `1/rate` apart,
  /// so a crowd behind one address (a carrier-grade NAT) returns spread
  /// out instead of in step, and each finds a token.
  std::chrono::milliseconds retry_after(verdict v, const std::string& address, time_point now);

  /// True when the address's rate refusals exceeded `max(connection_burst,
  /// 2 * connection_rate)` in this one-second window and in the one before:
  /// a sustained stream of dials that ignore their retry-after. A crowd of
  /// honest dialers behind the address is refused in one burst at first
  /// and then returns in its slots, so it does not count.
  bool rate_flood(const std::string& address) const;

  /// An admitted inbound connection finished its handshake, or ended
  /// before it did: either way it no longer counts as half-open.
  void handshake_over(const std::string& address);

  /// True when another link (outbound, or relayed to us) may start while
  /// `links` exist.
  bool room_for_link(size_t links) const { return links < cfg_.max_connections; }

  size_t half_open() const { return half_open_; }
  size_t half_open_from(const std::string& address) const;
  size_t tracked_addresses() const { return buckets_.size(); }
  const limits_config& config() const { return cfg_; }

  /// New limits (a reload): what is under way stays counted, rate buckets
  /// keep their tokens (capped by the new burst when next used), and the
  /// whitelist is replaced whole. Call `check` first.
  void reconfigure(limits_config cfg);

private:
  bool take_token(const std::string& address, time_point now);

  struct bucket {
    double tokens = 0;
    time_point last;
    std::list<std::string>::iterator age; ///< position in `lru_`
    time_point next_slot{};    ///< the next retry-after slot to hand out
    time_point window_start{}; ///< refusals are counted per second
    size_t refused_in_window = 0;
    size_t refused_prev_window = 0;
  };

  limits_config cfg_;
  address_blacklist allowed_; ///< whitelist entries (matching = allowed)
  size_t half_open_ = 0;
  std::unordered_map<std::string, size_t> half_open_by_address_;
  std::unordered_map<std::string, bucket> buckets_;
  std::list<std::string> lru_; ///< most recently seen first
};

std::string to_string(admission_control::verdict x);

/// Parses "203.0.113.7" (an address) or "198.51.100.0/24" (a subnet).
std::optional<blacklist_entry> parse_address_or_subnet(const std::string& text);

} // namespace crust
