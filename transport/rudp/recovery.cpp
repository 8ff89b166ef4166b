#include "transport/rudp/recovery.hpp"

namespace crust::rudp {

void rtt_estimator::update(duration latest, duration ack_delay, time_point now) {
  latest_ = latest;
  min_ = std::min(min_, latest);
  // The recent minimum, in buckets of one smoothed RTT (two kept).
  if (!sampled_ || now - bucket_start_ >= std::max<duration>(srtt_, std::chrono::milliseconds(1))) {
    previous_min_ = sampled_ ? bucket_min_ : duration::max();
    bucket_min_ = latest;
    bucket_start_ = now;
  } else {
    bucket_min_ = std::min(bucket_min_, latest);
  }
  // The peer's delay only counts when it does not make the sample absurd.
  auto adjusted = latest >= min_ + ack_delay ? latest - ack_delay : latest;
  if (!sampled_) {
    sampled_ = true;
    srtt_ = adjusted;
    rttvar_ = adjusted / 2;
    return;
  }
  auto diff = srtt_ > adjusted ? srtt_ - adjusted : adjusted - srtt_;
  rttvar_ = (3 * rttvar_ + diff) / 4;
  srtt_ = (7 * srtt_ + adjusted) / 8;
}

duration rtt_estimator::pto(duration max_ack_delay) const {
  return srtt_ + std::max<duration>(4 * rttvar_, std::chrono::milliseconds(1)) + max_ack_delay;
}

void new_reno::on_acked(size_t bytes, time_point sent, bool queueing) {
  in_flight_ -= std::min(bytes, in_flight_);
  loss_ewma_ *= 31.0 / 32.0;
  if (sent <= recovery_start_)
    return; // sent before the last reduction: no growth for it
  if (queueing) {
    ssthresh_ = std::min(ssthresh_, cwnd_); // a queue builds: no more slow start
    return;
  }
  if (cwnd_ < ssthresh_) {
    cwnd_ += bytes;
    return;
  }
  acked_in_ca_ += bytes;
  if (acked_in_ca_ >= cwnd_) {
    acked_in_ca_ -= cwnd_;
    cwnd_ += mss_;
  }
}

void new_reno::on_lost(size_t bytes, time_point sent, time_point now, bool queueing,
                       uint64_t packet) {
  in_flight_ -= std::min(bytes, in_flight_);
  loss_ewma_ = loss_ewma_ * 31.0 / 32.0 + 1.0 / 32.0;
  if (sent <= recovery_start_)
    return; // this round trip was already answered with a reduction
  if (!queueing && loss_ewma_ < 0.15)
    return; // random loss: retransmit, keep the window
  undoable_ = true;
  reduced_for_ = packet;
  undo_cwnd_ = cwnd_;
  undo_ssthresh_ = ssthresh_;
  recovery_start_ = now;
  cwnd_ = std::max(cwnd_ / 2, 2 * mss_);
  ssthresh_ = cwnd_;
  acked_in_ca_ = 0;
}

void new_reno::on_spurious_loss(uint64_t packet) {
  loss_ewma_ = std::max(0.0, loss_ewma_ - 1.0 / 32.0);
  if (undoable_ && packet == reduced_for_) {
    // The reduction answered a packet that was only late (Eifel, RFC 3522).
    undoable_ = false;
    cwnd_ = std::max(cwnd_, undo_cwnd_);
    ssthresh_ = std::max(ssthresh_, undo_ssthresh_);
  }
}

void pacer::on_sent(size_t bytes, size_t cwnd, duration srtt, time_point now) {
  if (now > next_ + srtt)
    credit_ = burst; // idle for a round trip: a fresh burst
  if (credit_ > 0) {
    --credit_;
    next_ = now;
    return;
  }
  // One packet's share of 1.25 × cwnd per srtt.
  auto interval = srtt * static_cast<int64_t>(bytes) * 4
                  / static_cast<int64_t>(std::max<size_t>(cwnd, 1) * 5);
  next_ = std::max(next_, now) + interval;
}

} // namespace crust::rudp
