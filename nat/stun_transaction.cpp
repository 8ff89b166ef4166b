#include "nat/stun_transaction.hpp"

namespace crust {

stun_transaction::stun_transaction(endpoint server, clock::time_point now,
                                   std::chrono::milliseconds rto, int max_sends)
  : server_(std::move(server)),
    tid_(stun::random_transaction_id()),
    rto_(rto),
    max_sends_(max_sends < 1 ? 1 : max_sends),
    next_(now) {
  stun::build_options opts;
  opts.software = "crust";
  request_ = stun::build_binding(stun::msg_class::request, tid_, opts);
}

std::optional<stun_transaction::clock::time_point> stun_transaction::deadline() const {
  if (state_ != state::pending)
    return std::nullopt;
  return next_;
}

bool stun_transaction::poll(clock::time_point now) {
  if (state_ != state::pending || now < next_)
    return false;
  if (sent_ >= max_sends_) {
    state_ = state::failed;
    failure_ = "no answer after " + std::to_string(sent_) + " requests";
    return false;
  }
  // Waits of rto, 2 rto, 4 rto, ...; the last wait is as long as the one before.
  auto wait = rto_ * (1 << std::min(sent_, max_sends_ - 1));
  ++sent_;
  next_ = now + wait;
  return true;
}

bool stun_transaction::on_message(const stun::message& m) {
  if (state_ != state::pending || m.tid != tid_ || m.method != stun::method_binding)
    return false;
  if (m.cls == stun::msg_class::success_response) {
    if (auto ep = m.mapped()) {
      mapped_ = *ep;
      other_ = m.other_address;
      state_ = state::done;
    } else {
      state_ = state::failed;
      failure_ = "a response without a mapped address";
    }
    return true;
  }
  if (m.cls == stun::msg_class::error_response) {
    state_ = state::failed;
    failure_ = "error " + std::to_string(m.error_code.value_or(0)) + " " + m.error_reason;
    return true;
  }
  return false;
}

} // namespace crust
