#include "transport/rudp/session.hpp"

#include <sodium.h>

#include "transport/wire.hpp"

#include <algorithm>
#include <cstring>

namespace crust::rudp {

namespace {

constexpr size_t tag_len = noise::tag_len;
constexpr size_t max_received_ranges = 32;
constexpr size_t item_chunk = 16 * 1024; ///< data items carry at most this much
/// Payloads from this size on are taken over, not copied, into the stream.
constexpr size_t share_threshold = 4 * 1024;
static_assert(share_threshold <= item_chunk, "a copied payload is one item");
constexpr size_t max_out_of_order = 8 * 1024 * 1024;
/// Loss detection's reordering allowance (RFC 9002 §6.1): a packet is lost
/// once `packet_threshold_` later ones are acknowledged (3 at first) or
/// `time_threshold_num_` eighths of an RTT passed (9 at first). Each loss
/// that proves spurious (the packet is acknowledged after all) widens both,
/// up to these maxima: a path that reorders stops causing retransmissions
/// and window reductions for packets that were only late.
constexpr int64_t time_threshold_den = 8;
constexpr int64_t max_time_threshold_num = 16; ///< 2 RTT
constexpr uint64_t max_packet_threshold = 32;
constexpr size_t max_declared_lost = 256; ///< losses remembered, to tell spurious ones
constexpr auto pacing_quantum = std::chrono::milliseconds(1);
/// Datagram sizes path MTU probing tries, in turn: Ethernet (1500, less
/// IPv6 and UDP headers), a size between, Ethernet jumbo frames (9000), and
/// our receive limit (loopback and other large-MTU paths).
constexpr size_t probe_ladder[] = {1452, 4096, 8952, max_datagram_size};

cid random_cid() {
  cid x;
  randombytes_buf(x.data(), x.size());
  return x;
}

} // namespace

// -- construction ----------------------------------------------------------------

session::session(const session_config& cfg, const config& rcfg, const identity& self,
                 bool initiator, time_point now)
  : cfg_(cfg),
    rcfg_(rcfg),
    self_(self),
    initiator_(initiator),
    local_cid_(random_cid()),
    hs_rto_(rcfg.initial_rto),
    handshake_deadline_(now + cfg.handshake_timeout),
    cc_(rcfg.max_datagram),
    mtu_(rcfg.max_datagram),
    peer_max_data_(rcfg.receive_window),
    max_data_sent_(rcfg.receive_window),
    last_received_(now),
    last_sent_(now) {
  auto prologue = make_prologue(cfg_.network);
  noise::handshake_keys keys;
  credential_ = cfg.credential_for(self);
  keys.static_keys = credential_->keys;
  handshake_.emplace(*noise::find_pattern(noise_pattern), initiator, prologue.data(),
                     prologue.size(), keys);
}

session::session(const session_config& cfg, const config& rcfg, const identity& self,
                 time_point now)
  : session(cfg, rcfg, self, true, now) {
  initial_.dcid = random_cid();
  initial_.scid = local_cid_;
  bytes version_payload{protocol_version};
  if (handshake_->write_message(version_payload.data(), version_payload.size(), initial_.noise)
      != ec::none) {
    fail(ec::handshake_failed);
    return;
  }
  hs_packet_ = encode(initial_);
  hs_send_now_ = true;
}

std::unique_ptr<session> session::accept(const session_config& cfg, const config& rcfg,
                                         const identity& self, const initial_packet& initial,
                                         time_point now, ec& err) {
  std::unique_ptr<session> s{new session(cfg, rcfg, self, false, now)};
  s->initial_dcid_ = initial.dcid;
  s->remote_cid_ = initial.scid;
  bytes payload;
  err = s->handshake_->read_message(initial.noise.data(), initial.noise.size(), payload);
  if (err != ec::none)
    return nullptr;
  if (payload.size() != 1 || payload[0] != protocol_version) {
    err = ec::protocol_version_mismatch;
    return nullptr;
  }
  handshake_packet reply;
  reply.dcid = s->remote_cid_;
  reply.scid = s->local_cid_;
  s->write_noise(reply.noise);
  if (s->state_ == state::closed) {
    err = ec::handshake_failed;
    return nullptr;
  }
  s->hs_packet_ = encode(reply);
  s->hs_send_now_ = true;
  err = ec::none;
  return s;
}

// -- handshake ---------------------------------------------------------------------

void session::write_noise(bytes& out) {
  auto payload = encode_payload(make_payload(
    credential_->owner, credential_->signature, cfg_.role, cfg_.listen_port, cfg_.observed,
    our_features(cfg_.probe, cfg_.offers_aesgcm())));
  if (handshake_->write_message(payload.data(), payload.size(), out) != ec::none)
    fail(ec::handshake_failed);
}

ec session::read_noise(const bytes& msg) {
  bytes payload;
  if (auto err = handshake_->read_message(msg.data(), msg.size(), payload); err != ec::none)
    return err == ec::decrypt_failed ? ec::handshake_failed : err;
  if (auto err = decode_and_verify_payload(payload.data(), payload.size(),
                                           *handshake_->remote_static(), remote_);
      err != ec::none)
    return err;
  if (remote_.identity_key == self_.id())
    return ec::self_connection;
  return ec::none;
}

void session::handle_retry(const retry_packet& p, time_point now) {
  // One retry, for our first INITIAL, before the responder answered.
  if (!initiator_ || state_ != state::handshaking || retried_ || p.dcid != local_cid_
      || p.scid != initial_.dcid || p.token.empty())
    return;
  retried_ = true;
  initial_.token = p.token;
  hs_packet_ = encode(initial_);
  hs_send_now_ = true;
  (void) now;
}

void session::handle_handshake(const handshake_packet& p, time_point now) {
  if (p.dcid != local_cid_)
    return;
  if (initiator_) {
    if (state_ != state::handshaking) {
      // Our message 3 was lost: the responder repeats message 2.
      if (!confirmed_ && p.scid == remote_cid_)
        hs_send_now_ = true;
      return;
    }
    if (auto err = read_noise(p.noise); err != ec::none) {
      fail(err);
      return;
    }
    remote_cid_ = p.scid;
    handshake_packet reply;
    reply.dcid = remote_cid_;
    reply.scid = local_cid_;
    write_noise(reply.noise);
    if (state_ == state::closed)
      return;
    hs_packet_ = encode(reply);
    hs_send_now_ = true;
    hs_rto_ = rtt_.has_sample() ? rtt_.pto(rcfg_.max_ack_delay) : rcfg_.initial_rto;
    become_established(now);
    return;
  }
  // Responder: message 3.
  if (state_ != state::handshaking || p.scid != remote_cid_)
    return;
  if (auto err = read_noise(p.noise); err != ec::none) {
    fail(err);
    return;
  }
  hs_packet_.clear();
  hs_send_now_ = false;
  hs_resend_at_ = time_point::max();
  become_established(now);
  confirmed_ = true; // message 3 arrived: nothing left to confirm on this side
  ping_due_ = true;  // confirms the handshake to the initiator at once
}

void session::become_established(time_point now) {
  auto [send, receive] = handshake_->split(); // already (ours, theirs)
  cipher_ = cfg_.transport_cipher(remote_.features);
  send_key_ = send;
  recv_key_ = receive;
  send_key_.use(cipher_);
  recv_key_.use(cipher_);
  handshake_hash_ = handshake_->handshake_hash();
  handshake_.reset();
  state_ = state::established;
  last_received_ = now;
  next_probe_at_ = now;
  events_.emplace_back(session_established{});
}

// -- input ---------------------------------------------------------------------------

void session::handle_datagram(const uint8_t* data, size_t len, time_point now) {
  if (state_ == state::closed || len == 0)
    return;
  switch (static_cast<packet_type>(data[0])) {
    case packet_type::initial: {
      // A repeat of the client's INITIAL: our message 2 was lost.
      initial_packet p;
      if (!initiator_ && state_ == state::handshaking && decode(data, len, p) == ec::none
          && p.scid == remote_cid_)
        hs_send_now_ = true;
      return;
    }
    case packet_type::retry: {
      retry_packet p;
      if (decode(data, len, p) == ec::none)
        handle_retry(p, now);
      return;
    }
    case packet_type::handshake: {
      handshake_packet p;
      if (decode(data, len, p) == ec::none)
        handle_handshake(p, now);
      return;
    }
    case packet_type::data:
      handle_data(data, len, now);
      return;
    case packet_type::abort: {
      abort_packet p;
      if (decode(data, len, p) == ec::none)
        handle_abort(p);
      return;
    }
  }
}

void session::handle_abort(const abort_packet& p) {
  // Only a handshake can be aborted; once both ends hold the keys, closing
  // takes an authenticated CLOSE.
  bool ours = false;
  if (initiator_)
    ours = p.dcid == local_cid_
           && (state_ == state::handshaking
               || (state_ == state::established && !confirmed_ && p.scid == remote_cid_));
  else
    ours = state_ == state::handshaking && p.dcid == initial_dcid_ && p.scid == remote_cid_;
  if (!ours)
    return;
  hs_packet_.clear();
  finish(p.reason == ec::none ? ec::closed_by_peer : p.reason, true, p.retry_after_ms);
}

void session::handle_data(const uint8_t* data, size_t len, time_point now) {
  if (state_ == state::handshaking || len < data_header_size + tag_len) {
    ++dropped_;
    return;
  }
  if (std::memcmp(data + 1, local_cid_.data(), local_cid_.size()) != 0) {
    ++dropped_;
    return;
  }
  auto pn = wire::load_u64(data + 9);
  // Replay window: a number seen before (or too old to tell) is dropped
  // before any cryptography.
  if (pn < replay_floor_) {
    ++dropped_;
    return;
  }
  auto it = received_.upper_bound(pn);
  if (it != received_.begin() && std::prev(it)->second >= pn) {
    ++dropped_;
    return;
  }
  auto& plain = rx_plain_;
  plain.clear();
  recv_key_.set_nonce(pn);
  if (recv_key_.decrypt_with_ad(data, data_header_size, data + data_header_size,
                                len - data_header_size, plain)
      != ec::none) {
    ++dropped_; // spoofed or corrupt: UDP is not authenticated, we are
    return;
  }
  auto& f = rx_frames_;
  if (auto err = parse_frames(plain.data(), plain.size(), f); err != ec::none) {
    fail(err); // authenticated garbage: a protocol violation
    return;
  }
  // Record the number (merging ranges, bounded).
  {
    uint64_t low = pn, high = pn;
    auto next = received_.find(pn + 1);
    if (next != received_.end()) {
      high = next->second;
      received_.erase(next);
    }
    auto prev = received_.lower_bound(pn);
    if (prev != received_.begin()) {
      --prev;
      if (prev->second + 1 == pn) {
        low = prev->first;
        received_.erase(prev);
      }
    }
    received_[low] = high;
    while (received_.size() > max_received_ranges) {
      replay_floor_ = received_.begin()->second + 1;
      received_.erase(received_.begin());
    }
  }
  if (pn >= largest_received_) {
    largest_received_ = pn;
    largest_received_at_ = now;
  }
  last_received_ = now;
  confirmed_ = true;
  if (initiator_ && !hs_packet_.empty()) {
    hs_packet_.clear();
    hs_send_now_ = false;
    hs_resend_at_ = time_point::max();
  }
  if (f.ack)
    on_ack(*f.ack, now);
  if (f.max_data)
    peer_max_data_ = std::max(peer_max_data_, *f.max_data);
  for (auto& part : f.stream) {
    receive_stream(part.offset, part.data, part.len);
    if (state_ == state::closed)
      return;
  }
  if (f.ack_eliciting) {
    ack_pending_ = true;
    if (++unacked_eliciting_ >= 2)
      ack_deadline_ = now;
    else
      ack_deadline_ = std::min(ack_deadline_, now + rcfg_.max_ack_delay);
  }
  check_closed();
}

void session::on_ack(const ack_frame& a, time_point now) {
  auto largest = a.ranges.front().high;
  if (largest >= next_pn_)
    return; // acknowledges what we never sent: ignore the frame
  bool newly_largest = !any_acked_ || largest > largest_acked_;
  bool any_new = false;
  std::optional<time_point> largest_sent;
  for (auto& r : a.ranges) {
    auto it = sent_.lower_bound(r.low);
    while (it != sent_.end() && it->first <= r.high) {
      auto& p = it->second;
      any_new = true;
      if (it->first == largest)
        largest_sent = p.sent;
      if (p.probe) {
        // The path carries datagrams this large: use them from now on, and
        // try the next size.
        set_datagram_size(std::max(mtu_, p.size));
        probe_in_flight_ = false;
        probe_failures_ = 0;
        next_probe_at_ = now;
      }
      for (auto& [off, n] : p.stream)
        mark_acked(off, off + n);
      cc_.on_acked(p.size, p.sent, queueing());
      it = sent_.erase(it);
    }
    // Packets we took for lost that arrived after all: only reordered.
    for (auto l = declared_lost_.lower_bound(r.low);
         l != declared_lost_.end() && l->first <= r.high;) {
      ++spurious_;
      for (auto& [off, n] : l->second.stream)
        mark_acked(off, off + n); // their retransmission is not needed
      cc_.on_spurious_loss(l->first);
      packet_threshold_ = std::min(max_packet_threshold, packet_threshold_ + 2);
      time_threshold_num_ = std::min(max_time_threshold_num, time_threshold_num_ + 1);
      l = declared_lost_.erase(l);
    }
  }
  if (!any_new)
    return;
  if (newly_largest) {
    largest_acked_ = largest;
    any_acked_ = true;
    if (largest_sent)
      rtt_.update(now - *largest_sent,
                  std::min<duration>(std::chrono::microseconds(a.delay_us), rcfg_.max_ack_delay),
                  now);
  }
  pto_count_ = 0;
  detect_losses(now);
  check_closed();
}

void session::detect_losses(time_point now) {
  if (!any_acked_)
    return;
  auto window = loss_delay();
  for (auto it = sent_.begin(); it != sent_.end() && it->first < largest_acked_;) {
    auto& p = it->second;
    if (largest_acked_ >= it->first + packet_threshold_ || p.sent + window <= now) {
      if (p.probe) {
        on_probe_lost(p, now);
        it = sent_.erase(it);
        continue;
      }
      ++lost_;
      for (auto& [off, n] : p.stream)
        retransmit_.emplace_back(off, off + n);
      if (p.max_data)
        max_data_due_ = true;
      cc_.on_lost(p.size, p.sent, now, queueing(), it->first);
      declared_lost_.emplace(it->first, declared_loss{std::move(p.stream)});
      if (declared_lost_.size() > max_declared_lost)
        declared_lost_.erase(declared_lost_.begin());
      it = sent_.erase(it);
    } else {
      ++it;
    }
  }
}

void session::on_probe_lost(const sent_packet& p, time_point now) {
  // Too large for the path (or an ordinary loss): not congestion.
  cc_.forget(p.size);
  probe_in_flight_ = false;
  ++probes_lost_;
  if (++probe_failures_ < 2) {
    next_probe_at_ = now; // once more: it may have been an ordinary loss
    return;
  }
  probe_failures_ = 0;
  next_probe_at_ = now + rcfg_.probe_raise_interval;
}

void session::set_datagram_size(size_t size) {
  mtu_ = size;
  cc_.set_max_datagram(size);
}

size_t session::next_probe_size() const {
  for (auto size : probe_ladder)
    if (size > mtu_)
      return size <= rcfg_.max_probe_datagram ? size : 0;
  return 0;
}

void session::mark_acked(uint64_t offset, uint64_t end) {
  if (end <= send_acked_)
    return;
  offset = std::max(offset, send_acked_);
  // Merge into the range map.
  auto it = acked_ranges_.upper_bound(offset);
  if (it != acked_ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= offset) {
      offset = prev->first;
      end = std::max(end, prev->second);
      acked_ranges_.erase(prev);
    }
  }
  it = acked_ranges_.lower_bound(offset);
  while (it != acked_ranges_.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = acked_ranges_.erase(it);
  }
  acked_ranges_[offset] = end;
  // Advance the fully acknowledged prefix and free what it covers.
  auto first = acked_ranges_.begin();
  if (first->first <= send_acked_) {
    send_acked_ = first->second;
    acked_ranges_.erase(first);
    send_buf_.release(send_acked_);
  }
}

bool session::stream_acked(uint64_t offset, uint64_t end) const {
  if (end <= send_acked_)
    return true;
  auto it = acked_ranges_.upper_bound(offset);
  if (it == acked_ranges_.begin())
    return false;
  --it;
  return it->first <= offset && it->second >= end;
}

void session::receive_stream(uint64_t offset, const uint8_t* data, size_t len) {
  auto end = offset + len;
  if (end > max_data_sent_) {
    fail(ec::frame_too_large); // beyond the window we granted
    return;
  }
  if (end <= recv_next_ || len == 0)
    return; // a repeat
  if (offset > recv_next_) {
    if (out_of_order_bytes_ + len > max_out_of_order)
      return; // dropped; the sender resends
    auto& slot = out_of_order_[offset];
    if (slot.size() < len) {
      out_of_order_bytes_ += len - slot.size();
      slot.assign(data, data + len);
    }
    return;
  }
  auto skip = static_cast<size_t>(recv_next_ - offset);
  recv_next_ = end;
  take_stream(data + skip, len - skip);
  // Anything buffered that now connects.
  while (!out_of_order_.empty() && out_of_order_.begin()->first <= recv_next_) {
    auto node = out_of_order_.begin();
    auto o = node->first;
    auto& b = node->second;
    if (o + b.size() > recv_next_) {
      auto s = static_cast<size_t>(recv_next_ - o);
      recv_next_ = o + b.size();
      take_stream(b.data() + s, b.size() - s);
    }
    out_of_order_bytes_ -= b.size();
    out_of_order_.erase(node);
  }
  grant_window();
}

void session::grant_window() {
  // The window counts what the application has not taken yet: messages
  // waiting in `events_` keep their bytes, so an application that stops
  // polling (backpressure) stops the peer within one window.
  auto limit = recv_next_ + rcfg_.receive_window;
  limit = queued_bytes_in_ >= limit ? 0 : limit - queued_bytes_in_;
  // Grant more once half the window is used.
  if (limit > max_data_sent_ && limit - max_data_sent_ >= rcfg_.receive_window / 2) {
    max_data_sent_ = limit;
    max_data_due_ = true;
  }
}

void session::take_stream(const uint8_t* data, size_t len) {
  while (len > 0 && state_ != state::closed) {
    if (!item_) {
      // Gather the next item's header (it may straddle packets).
      auto k = std::min(len, item_header_size - item_header_have_);
      std::memcpy(item_header_.data() + item_header_have_, data, k);
      item_header_have_ += k;
      data += k;
      len -= k;
      if (item_header_have_ < item_header_size)
        return;
      item_header_have_ = 0;
      item_view x;
      if (auto err = read_item_header(item_header_.data(), x); err != ec::none) {
        fail(err);
        return;
      }
      if (x.kind == item_kind::data_more || x.kind == item_kind::data_last) {
        if (reassembly_.size() + x.len > cfg_.max_message_size) {
          fail(ec::message_too_large);
          return;
        }
        if (reassembly_.empty() && x.kind == item_kind::data_more)
          // The first of several items: room for four (a 64 KiB message
          // arrives without being moved on the way).
          reassembly_.reserve(std::min(cfg_.max_message_size, 4 * x.len));
      } else {
        item_body_.clear();
      }
      item_ = x;
      item_left_ = x.len;
      if (item_left_ == 0) {
        finish_item(); // an empty message
        continue;
      }
    }
    // The body goes where it belongs as it arrives.
    auto k = std::min(len, item_left_);
    auto& to = item_->kind == item_kind::data_more || item_->kind == item_kind::data_last
                 ? reassembly_
                 : item_body_;
    to.insert(to.end(), data, data + k);
    data += k;
    len -= k;
    item_left_ -= k;
    if (item_left_ == 0)
      finish_item();
  }
}

void session::finish_item() {
  auto item = *item_;
  item_.reset();
  switch (item.kind) {
    case item_kind::data_more:
      break;
    case item_kind::data_last:
      ++messages_received_;
      if (!peer_closed_) {
        queued_bytes_in_ += reassembly_.size();
        events_.emplace_back(session_message{std::move(reassembly_)});
      }
      reassembly_ = bytes{};
      break;
    case item_kind::service:
      if (!peer_closed_) {
        queued_bytes_in_ += item_body_.size();
        events_.emplace_back(session_service{item.channel, std::move(item_body_)});
        item_body_ = bytes{};
      }
      break;
    case item_kind::close: {
      auto reason = static_cast<ec>(item_body_[0]);
      peer_closed_ = reason == ec::none ? ec::closed_by_peer : reason;
      if (!closing_ && !defer_close_reply_)
        close(*peer_closed_);
      break;
    }
    case item_kind::ping:
    case item_kind::pong:
      break; // keepalive is the datagram layer's here
  }
}

void session::handle_timeout(time_point now) {
  if (state_ == state::closed)
    return;
  if (state_ == state::handshaking) {
    if (now >= handshake_deadline_) {
      fail(ec::handshake_timeout);
      return;
    }
  } else if (!confirmed_ && now >= handshake_deadline_) {
    fail(ec::handshake_timeout);
    return;
  }
  if (!hs_packet_.empty() && now >= hs_resend_at_)
    hs_send_now_ = true;
  if (state_ == state::handshaking)
    return;
  if (now - last_received_ >= cfg_.peer_timeout) {
    fail(ec::peer_timeout);
    return;
  }
  if (closing_ && now >= close_deadline_) {
    finish(*closing_, peer_closed_.has_value());
    return;
  }
  if (now - last_sent_ >= cfg_.keepalive_interval)
    ping_due_ = true;
  // Probe timeout: nothing acknowledged for a while.
  if (!sent_.empty()) { // ack-eliciting packets in flight
    auto pto = rtt_.pto(rcfg_.max_ack_delay) * (int64_t{1} << std::min(pto_count_, 10u));
    if (now >= last_eliciting_sent_ + pto) {
      ++pto_count_;
      probe_due_ = true;
      if (pto_count_ >= 2 && mtu_ > rcfg_.max_datagram) {
        // Nothing acknowledged for two probe timeouts: the path may have
        // shrunk (a black hole for large datagrams). Back to the size that
        // always works; probing again later.
        set_datagram_size(rcfg_.max_datagram);
        next_probe_at_ = now + rcfg_.probe_raise_interval;
      }
      // Resend the oldest unacknowledged data as the probe.
      auto& oldest = sent_.begin()->second;
      for (auto& [off, n] : oldest.stream)
        retransmit_.emplace_front(off, off + n);
    }
  }
  detect_losses(now);
}

// -- commands ----------------------------------------------------------------------

void session::append_item(item_kind kind, uint8_t channel, const uint8_t* body, size_t len) {
  uint8_t header[item_header_size];
  write_item_header(header, kind, channel, len);
  send_buf_.append(header, item_header_size);
  send_buf_.append(body, len);
}

ec session::send(bytes& payload, uint8_t) {
  if (!accepting())
    return ec::not_connected;
  if (payload.size() > cfg_.max_message_size)
    return ec::message_too_large;
  if (queued_bytes() + payload.size() > cfg_.send_queue_limit)
    return ec::send_queue_full;
  if (payload.size() < share_threshold) {
    append_item(item_kind::data_last, 0, payload.data(), payload.size());
  } else {
    // Taken over (the caller's payload is left empty): its items point into
    // it until they are acknowledged.
    auto shared = std::make_shared<const bytes>(std::move(payload));
    payload = bytes{};
    size_t pos = 0;
    do {
      auto n = std::min(item_chunk, shared->size() - pos);
      bool last = pos + n == shared->size();
      uint8_t header[item_header_size];
      write_item_header(header, last ? item_kind::data_last : item_kind::data_more, 0, n);
      send_buf_.append_shared(header, item_header_size, shared, pos, n);
      pos += n;
    } while (pos < shared->size());
  }
  ++messages_sent_;
  return ec::none;
}

ec session::send_service(uint8_t service, bytes body, bool) {
  if (!accepting())
    return ec::not_connected;
  if ((remote_.features & feature_services) == 0)
    return ec::unsupported;
  if (body.size() > max_service_body)
    return ec::message_too_large;
  append_item(item_kind::service, service, body.data(), body.size());
  return ec::none;
}

void session::close(ec reason) {
  if (state_ == state::closed || closing_)
    return;
  if (state_ == state::handshaking) {
    // Tell the peer, if it may hold a half of this handshake: a responder
    // always does (it answered an INITIAL), an initiator once its INITIAL
    // went out (before message 2 it knows only the responder's first dcid,
    // which the responder's node routes like a repeated INITIAL).
    if (!initiator_)
      abort_ = encode(abort_packet{remote_cid_, local_cid_, reason});
    else if (hs_resend_at_ != time_point::max())
      abort_ = encode(abort_packet{initial_.dcid, local_cid_, reason});
    finish(reason, false);
    return;
  }
  closing_ = reason;
  uint8_t r = static_cast<uint8_t>(reason);
  append_item(item_kind::close, 0, &r, 1);
  close_end_ = send_buf_.end();
  close_deadline_ = last_received_ + cfg_.close_timeout;
  close_deadline_ = std::max(close_deadline_, last_sent_ + cfg_.close_timeout);
}

void session::check_closed() {
  // Done when our CLOSE is acknowledged and the peer's has arrived.
  if (closing_ && peer_closed_ && send_acked_ >= close_end_ && state_ != state::closed)
    finish(*peer_closed_, true);
}

void session::fail(ec reason) {
  if (state_ == state::closed)
    return;
  finish(reason, false);
}

void session::finish(ec reason, bool by_peer, uint32_t retry_after_ms) {
  state_ = state::closed;
  final_ack_ = ack_pending_ && send_key_.has_key();
  for (auto& [pn, p] : sent_)
    cc_.forget(p.size);
  sent_.clear();
  declared_lost_.clear();
  retransmit_.clear();
  hs_packet_.clear();
  events_.emplace_back(session_closed{reason, by_peer, retry_after_ms});
}

// -- output --------------------------------------------------------------------------

bool session::build_data(bytes& out, time_point now, bool ack_only, size_t probe) {
  auto size = probe > 0 ? probe : mtu_;
  out.clear();
  out.reserve(size);
  out.push_back(static_cast<uint8_t>(packet_type::data));
  out.insert(out.end(), remote_cid_.begin(), remote_cid_.end());
  auto pn = next_pn_;
  out.resize(data_header_size);
  wire::store_u64(out.data() + 9, pn);
  auto& plain = tx_plain_;
  plain.clear();
  auto room = size - data_header_size - tag_len;
  sent_packet rec;
  rec.sent = now;
  bool eliciting = false; // only these are tracked (and count against cwnd)
  // Any packet we send carries the ACK we owe; the deadline only decides
  // when an ACK goes alone.
  bool with_ack = ack_pending_;
  if (with_ack && !received_.empty()) {
    ack_frame a;
    for (auto it = received_.rbegin(); it != received_.rend() && a.ranges.size() < max_ack_ranges;
         ++it)
      a.ranges.push_back({it->first, it->second});
    auto delay = std::chrono::duration_cast<std::chrono::microseconds>(now - largest_received_at_);
    a.delay_us = static_cast<uint32_t>(std::min<int64_t>(delay.count(), UINT32_MAX));
    put_ack(plain, a);
  }
  if (probe > 0) {
    put_ping(plain);
    plain.resize(room, static_cast<uint8_t>(frame_type::padding));
    rec.probe = true;
    eliciting = true;
    probe_in_flight_ = true;
  } else if (!ack_only) {
    if (max_data_due_) {
      put_max_data(plain, max_data_sent_);
      rec.max_data = true;
      eliciting = true;
      max_data_due_ = false;
    }
    if (ping_due_ || probe_due_) {
      put_ping(plain);
      eliciting = true;
      ping_due_ = false;
    }
    // Lost data first, then new data, as the peer's window allows.
    while (!retransmit_.empty() && plain.size() + stream_frame_overhead + 1 < room) {
      auto [start, end] = retransmit_.front();
      retransmit_.pop_front();
      start = std::max(start, send_acked_);
      if (start >= end || stream_acked(start, end))
        continue;
      auto n = std::min<uint64_t>(end - start, room - plain.size() - stream_frame_overhead);
      put_stream_header(plain, start, static_cast<size_t>(n));
      send_buf_.copy(start, static_cast<size_t>(n), plain);
      rec.stream.emplace_back(start, static_cast<uint16_t>(n));
      eliciting = true;
      if (start + n < end)
        retransmit_.emplace_front(start + n, end);
    }
    while (has_new_data() && plain.size() + stream_frame_overhead + 1 < room) {
      auto n = std::min<uint64_t>({send_buf_.end() - send_next_, peer_max_data_ - send_next_,
                                   room - plain.size() - stream_frame_overhead});
      put_stream_header(plain, send_next_, static_cast<size_t>(n));
      send_buf_.copy(send_next_, static_cast<size_t>(n), plain);
      rec.stream.emplace_back(send_next_, static_cast<uint16_t>(n));
      eliciting = true;
      send_next_ += n;
    }
    probe_due_ = false;
  }
  if (plain.empty())
    return false;
  if (with_ack) {
    ack_pending_ = false;
    unacked_eliciting_ = 0;
    ack_deadline_ = time_point::max();
  }
  uint8_t header[data_header_size]; // `out` grows below: the AD must not move
  std::memcpy(header, out.data(), data_header_size);
  send_key_.set_nonce(pn);
  if (send_key_.encrypt_with_ad(header, data_header_size, plain.data(), plain.size(), out)
      != ec::none) {
    fail(ec::nonce_exhausted);
    return false;
  }
  ++next_pn_;
  rec.size = out.size();
  last_sent_ = now;
  if (eliciting) {
    last_eliciting_sent_ = now;
    cc_.on_sent(rec.size);
    if (!rec.probe)
      pacer_.on_sent(rec.size, cc_.window(), rtt_.smoothed(), now);
    sent_.emplace(pn, std::move(rec));
  }
  return true;
}

bool session::poll_datagram(bytes& out, time_point now) {
  if (state_ == state::closed) {
    if (!abort_.empty()) {
      out = std::move(abort_);
      abort_.clear();
      return true;
    }
    if (final_ack_) {
      final_ack_ = false;
      state_ = state::established; // just for this one ACK
      bool ok = build_data(out, now, true);
      state_ = state::closed;
      return ok;
    }
    return false;
  }
  if (hs_send_now_ && !hs_packet_.empty()) {
    hs_send_now_ = false;
    out = hs_packet_;
    hs_resend_at_ = now + hs_rto_;
    hs_rto_ = std::min<duration>(hs_rto_ * 2, std::chrono::seconds(2));
    return true;
  }
  if (state_ != state::established)
    return false;
  // Probe once both ends are sure of the keys (a DATA packet before the
  // responder has message 3 would be dropped).
  if (confirmed_ && !probe_in_flight_ && !closing_ && now >= next_probe_at_) {
    auto size = next_probe_size();
    if (size == 0)
      next_probe_at_ = time_point::max(); // as large as we go
    else if (cc_.can_send(size) && build_data(out, now, false, size))
      return true;
  }
  bool wants_eliciting =
    ping_due_ || probe_due_ || max_data_due_ || !retransmit_.empty() || has_new_data();
  if (wants_eliciting) {
    // A probe or a keepalive goes out whatever the window says: held back
    // by a full window, a due keepalive stays due and its timer would fire
    // again at once, over and over, until an ACK opens the window.
    bool window_ok = probe_due_ || ping_due_ || cc_.can_send(mtu_);
    // Timers are coarse: send what is due within the next pacing quantum.
    bool pace_ok = probe_due_ || ping_due_ || pacer_.next(now) <= now + pacing_quantum;
    if (window_ok && pace_ok && build_data(out, now, false))
      return true;
  }
  if (ack_pending_ && now >= ack_deadline_)
    return build_data(out, now, true);
  return false;
}

std::optional<session_event> session::poll_event() {
  if (events_.empty())
    return std::nullopt;
  size_t n = 0;
  if (auto m = std::get_if<session_message>(&events_.front()))
    n = m->payload.size();
  else if (auto sv = std::get_if<session_service>(&events_.front()))
    n = sv->body.size();
  auto ev = std::move(events_.front());
  events_.pop_front();
  if (n > 0) {
    queued_bytes_in_ -= std::min(n, queued_bytes_in_);
    if (state_ == state::established)
      grant_window();
  }
  return ev;
}

time_point session::next_deadline() const {
  if (state_ == state::closed)
    return time_point::max();
  auto t = handshake_deadline_;
  if (state_ != state::handshaking && confirmed_)
    t = time_point::max();
  if (!hs_packet_.empty())
    t = std::min(t, hs_resend_at_);
  if (state_ == state::handshaking)
    return t;
  t = std::min(t, last_received_ + cfg_.peer_timeout);
  if (!ping_due_)
    t = std::min(t, last_sent_ + cfg_.keepalive_interval);
  t = std::min(t, ack_deadline_);
  if (closing_)
    t = std::min(t, close_deadline_);
  if (!sent_.empty())
    t = std::min(t, last_eliciting_sent_
                      + rtt_.pto(rcfg_.max_ack_delay) * (int64_t{1} << std::min(pto_count_, 10u)));
  if ((has_new_data() || !retransmit_.empty()) && cc_.can_send(mtu_))
    t = std::min(t, pacer_.next(time_point{}));
  // Time-threshold losses.
  if (any_acked_ && !sent_.empty() && sent_.begin()->first < largest_acked_) {
    t = std::min(t, sent_.begin()->second.sent + loss_delay());
  }
  return t;
}

bool session::queueing() const {
  if (!rtt_.has_sample())
    return false;
  // The lowest recent sample: late ones (a busy scheduler, a jittery radio
  // link) are not a queue; a queue delays every packet.
  auto margin = std::max<duration>({rtt_.min() / 8, std::chrono::milliseconds(4),
                                    2 * rtt_.variance()});
  return rtt_.recent_min() > rtt_.min() + margin;
}

duration session::loss_delay() const {
  auto window = std::max(rtt_.smoothed(), rtt_.latest()) * time_threshold_num_ / time_threshold_den;
  return std::max<duration>(window, std::chrono::milliseconds(1));
}

std::optional<std::chrono::nanoseconds> session::last_rtt() const {
  if (!rtt_.has_sample())
    return std::nullopt;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(rtt_.smoothed());
}

} // namespace crust::rudp
