#pragma once

// Loss recovery and congestion control for reliable UDP, after RFC 9002:
// an RTT estimator, NewReno congestion control, and a pacer that spreads a
// window's packets over a round trip instead of bursting them.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace crust::rudp {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

class rtt_estimator {
public:
  static constexpr duration initial_rtt = std::chrono::milliseconds(250);

  /// A sample taken at `now`: `latest` from send to ack, `ack_delay` what
  /// the peer held it.
  void update(duration latest, duration ack_delay, time_point now);

  duration smoothed() const { return srtt_; }
  duration variance() const { return rttvar_; }
  duration min() const { return min_; }
  /// The lowest sample of the last one to two smoothed RTTs. A standing
  /// queue lifts every sample, this one too; jitter lifts only some, and
  /// this one stays near `min()`.
  duration recent_min() const { return std::min(bucket_min_, previous_min_); }
  duration latest() const { return latest_; }
  bool has_sample() const { return sampled_; }

  /// Probe timeout before backoff: srtt + max(4 rttvar, 1 ms) + max_ack_delay.
  duration pto(duration max_ack_delay) const;

private:
  bool sampled_ = false;
  duration srtt_ = initial_rtt;
  duration rttvar_ = initial_rtt / 2;
  duration min_ = duration::max();
  duration latest_ = initial_rtt;
  time_point bucket_start_{};
  duration bucket_min_ = duration::max();
  duration previous_min_ = duration::max();
};

/// NewReno in bytes — slow start, congestion avoidance, one window reduction
/// per round trip of losses — made tolerant of random loss: a loss counts as
/// congestion only when the path shows a standing queue (even the lowest RTT
/// of the last round trip or two sits above the path's minimum by an eighth,
/// at least 4 ms and at least twice the RTT variation) or when losses are
/// heavy (an average above 15 % of packets). Radio and lossy links drop
/// packets without any queue; halving the window for each of those would
/// starve the link (at 5 % loss and 100 ms RTT plain NewReno moves ~70 KB/s).
/// A growing queue also ends slow start, so the window does not fill a
/// buffer for nothing.
class new_reno {
public:
  explicit new_reno(size_t max_datagram)
    : mss_(max_datagram), cwnd_(10 * max_datagram), ssthresh_(SIZE_MAX) {}

  /// The datagram size changed (path MTU probing): the window never falls
  /// below two of them, or a full-sized datagram could never be sent again.
  void set_max_datagram(size_t bytes) {
    mss_ = bytes;
    cwnd_ = std::max(cwnd_, 2 * mss_);
  }

  size_t window() const { return cwnd_; }
  size_t in_flight() const { return in_flight_; }
  bool can_send(size_t bytes) const { return in_flight_ + bytes <= cwnd_; }

  void on_sent(size_t bytes) { in_flight_ += bytes; }
  /// `queueing`: the RTT shows a standing queue right now.
  void on_acked(size_t bytes, time_point sent, bool queueing);
  /// A packet sent at `sent` was lost; `now` starts the recovery period.
  /// `packet` names it for `on_spurious_loss`.
  void on_lost(size_t bytes, time_point sent, time_point now, bool queueing, uint64_t packet);
  /// Packet `packet`, taken for lost, was acknowledged after all: its loss
  /// leaves the average, and a window reduction it caused is undone.
  void on_spurious_loss(uint64_t packet);
  double loss_rate() const { return loss_ewma_; }
  /// Not acked and not lost either (e.g. discarded at close).
  void forget(size_t bytes) { in_flight_ -= std::min(bytes, in_flight_); }

private:
  size_t mss_;
  size_t cwnd_;
  size_t ssthresh_;
  size_t in_flight_ = 0;
  size_t acked_in_ca_ = 0;
  time_point recovery_start_{};
  double loss_ewma_ = 0; ///< share of packets lost, averaged over ~32 packets
  // The last reduction, to undo should its loss prove spurious.
  uint64_t reduced_for_ = 0; ///< the packet whose loss caused it
  size_t undo_cwnd_ = 0;
  size_t undo_ssthresh_ = 0;
  bool undoable_ = false;
};

/// Spaces packets at 1.25 × cwnd / srtt, allowing short bursts.
class pacer {
public:
  static constexpr size_t burst = 10; ///< packets that may leave back to back

  /// When the next packet of `bytes` may leave (now or later).
  time_point next(time_point now) const { return std::max(now, next_); }

  void on_sent(size_t bytes, size_t cwnd, duration srtt, time_point now);

private:
  time_point next_{};
  size_t credit_ = burst; ///< packets left in the current burst
};

} // namespace crust::rudp
