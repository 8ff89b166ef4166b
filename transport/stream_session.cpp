#include "transport/stream_session.hpp"

#include "transport/handshake_payload.hpp"

#include "transport/wire.hpp"

#include <algorithm>
#include <cstring>

namespace crust {

namespace {

/// Control items queued but not yet sent, at most: a ping flood from a peer
/// that never reads cannot grow our memory.
constexpr size_t max_pending_pongs = 16;

/// Best effort service message bytes queued, at most.
constexpr size_t max_service_queue = 256 * 1024;

/// Windowed service message bytes queued, at most: 64 relay circuits' full
/// windows (a relay's default limits allow 8 per peer).
constexpr size_t max_windowed_service_queue = 16 * 1024 * 1024;

/// Do not start a fragment in a frame with less room than this: a new frame
/// serves it better than a sliver.
constexpr size_t min_fragment = 512;

/// The largest plaintext a frame can carry.
constexpr size_t max_frame_plaintext = max_frame_size - noise::tag_len;

/// Smallest handshake frame: a version reject (no Noise message is shorter
/// than an ephemeral key).
constexpr size_t min_handshake_message = version_reject_size;

} // namespace

stream_session::stream_session(const session_config& cfg, const identity& self,
                               bool initiator, time_point now, noise::handshake_keys keys)
  : cfg_(cfg),
    self_(self),
    initiator_(initiator),
    decoder_(max_handshake_message, min_handshake_message),
    handshake_deadline_(now + cfg.handshake_timeout),
    last_received_(now),
    last_sent_(now) {
  auto prologue = make_prologue(cfg_.network);
  credential_ = keys.static_keys ? static_credential::make(self, *keys.static_keys)
                                 : cfg.credential_for(self);
  keys.static_keys = credential_->keys;
  // A responder's ephemeral key is made now, while the initiator's message 1
  // is still on its way, not on message 2's critical path (an initiator's
  // caller may make its own before the connection is up; see connection.cpp).
  if (!initiator_ && !keys.ephemeral)
    keys.ephemeral = noise::keypair::generate();
  handshake_.emplace(*noise::find_pattern(noise_pattern), initiator, prologue.data(),
                     prologue.size(), keys);
  if (initiator_) {
    write_handshake_message(bytes{protocol_version});
    if (cfg_.simultaneous_open && wire_.size() >= frame_header_size + noise::dh_len) {
      noise::public_key e;
      std::memcpy(e.data(), wire_.data() + frame_header_size, e.size());
      sent_ephemeral_ = e;
    }
  }
}

// -- input ---------------------------------------------------------------------

void stream_session::handle_data(const uint8_t* data, size_t len, time_point now) {
  if (state_ == state::closed)
    return;
  decoder_.append(data, len);
  take_frames(now);
}

void stream_session::handle_data(bytes&& chunk, time_point now) {
  if (state_ == state::closed)
    return;
  decoder_.append(std::move(chunk));
  take_frames(now);
}

void stream_session::take_frames(time_point now) {
  last_received_ = now;
  heard_ = true;
  while (state_ != state::closed) {
    uint8_t* body = nullptr;
    size_t n = 0;
    auto st = decoder_.next(body, n);
    if (st == frame_decoder::status::need_more)
      return;
    if (st == frame_decoder::status::error) {
      fail(decoder_.last_error());
      return;
    }
    if (state_ == state::handshaking)
      handle_handshake_frame(body, n);
    else
      handle_transport_frame(body, n, now);
  }
}

void stream_session::handle_stream_end(ec reason) {
  if (state_ == state::closed)
    return;
  if (state_ == state::closing) {
    finish(close_reason_, false);
    return;
  }
  wire_.clear();
  // A stream that ends part-way through a handshake failed it. One that
  // ends before its initiator sent a byte never began one (a dial given up
  // as it connected, a port check): closed, not failed.
  bool failed = state_ == state::handshaking && reason == ec::closed_by_peer
                && (heard_ || initiator_);
  finish(failed ? ec::handshake_failed : reason, true);
}

void stream_session::handle_timeout(time_point now) {
  if (state_ == state::handshaking) {
    if (now >= handshake_deadline_)
      fail(ec::handshake_timeout);
    return;
  }
  if (state_ == state::closing) {
    if (now >= close_deadline_)
      finish(close_reason_, false);
    return;
  }
  if (state_ != state::established)
    return;
  if (now - last_received_ >= cfg_.peer_timeout) {
    fail(ec::peer_timeout);
    return;
  }
  if (now - last_sent_ >= cfg_.keepalive_interval)
    ping_due_ = true;
}

ec stream_session::send_service(uint8_t service, bytes body, bool windowed) {
  if (!accepting())
    return ec::not_connected;
  if ((remote_.features & feature_services) == 0)
    return ec::unsupported;
  if (body.size() > max_service_body)
    return ec::message_too_large;
  if (windowed ? service_bytes_ - best_effort_bytes_ + body.size() > max_windowed_service_queue
               : best_effort_bytes_ + body.size() > max_service_queue)
    return ec::send_queue_full;
  service_bytes_ += body.size();
  if (!windowed)
    best_effort_bytes_ += body.size();
  services_.push_back(queued_service{session_service{service, std::move(body)}, windowed});
  return ec::none;
}

ec stream_session::send(bytes& payload, uint8_t priority) {
  if (state_ != state::established || closing_)
    return ec::not_connected;
  if (payload.size() > cfg_.max_message_size)
    return ec::message_too_large;
  if (queued_bytes_ + payload.size() > cfg_.send_queue_limit)
    return ec::send_queue_full;
  priority = std::min<uint8_t>(priority, priority_levels - 1);
  queued_bytes_ += payload.size();
  ++queued_messages_;
  queues_[priority].push_back(outgoing{std::move(payload), 0});
  return ec::none;
}

void stream_session::close(ec reason) {
  if (state_ == state::closed || closing_)
    return;
  if (state_ == state::handshaking) {
    // Whatever of the handshake is still unsent goes unsaid; the peer hears
    // why instead (`handshake_abort_marker`).
    wire_ = handshake_abort_frame(reason);
    finish(reason, false);
    return;
  }
  closing_ = reason;
}

// -- handshake -----------------------------------------------------------------

void stream_session::write_handshake_message(const bytes& payload) {
  auto offset = wire_.size();
  wire_.resize(offset + frame_header_size);
  if (auto err = handshake_->write_message(payload.data(), payload.size(), wire_);
      err != ec::none) {
    wire_.resize(offset);
    fail(err);
    return;
  }
  write_frame_header(wire_.data() + offset, wire_.size() - offset - frame_header_size);
}

bool stream_session::settle_simultaneous_open(const uint8_t* body, size_t len) {
  // Message 1 is an ephemeral key and the one-byte version in the clear;
  // message 2 is far longer (a key, an encrypted key, an encrypted payload).
  if (!sent_ephemeral_ || handshake_->remote_static() || len != noise::dh_len + 1)
    return false;
  auto& ours = *sent_ephemeral_;
  int order = std::memcmp(ours.data(), body, ours.size());
  if (order == 0) {
    fail(ec::self_connection); // our own message 1 came back
    return true;
  }
  if (order > 0) {
    // We stay initiator: the peer turns responder and answers ours.
    sent_ephemeral_.reset();
    return true;
  }
  // We turn responder: a fresh handshake that reads their message 1.
  noise::handshake_keys keys;
  keys.static_keys = credential_->keys;
  auto prologue = make_prologue(cfg_.network);
  handshake_.emplace(*noise::find_pattern(noise_pattern), false, prologue.data(), prologue.size(),
                     keys);
  initiator_ = false;
  sent_ephemeral_.reset();
  return false; // read it as a responder does
}

bool stream_session::take_handshake_abort(const uint8_t* body, size_t len) {
  ec reason = ec::none;
  uint32_t retry_after_ms = 0;
  if (!read_handshake_abort(body, len, reason, retry_after_ms))
    return false;
  wire_.clear();
  finish(reason == ec::none ? ec::closed_by_peer : reason, true, retry_after_ms);
  return true;
}

void stream_session::handle_handshake_frame(const uint8_t* body, size_t len) {
  if (take_handshake_abort(body, len) || settle_simultaneous_open(body, len)
      || state_ == state::closed)
    return;
  auto& hs = *handshake_;
  if (len == version_reject_size && body[0] == version_reject_marker && initiator_
      && !hs.remote_static()) {
    peer_version_ = body[1];
    fail(ec::protocol_version_mismatch);
    return;
  }
  bytes payload;
  if (auto err = hs.read_message(body, len, payload); err != ec::none) {
    // A failed decryption here means a different network name, version or a
    // tampered message: all the same to the peer, a failed handshake.
    fail(err == ec::decrypt_failed ? ec::handshake_failed : err);
    return;
  }
  if (!hs.remote_static()) {
    // Message 1 (-> e): its clear payload names the protocol version. If it
    // is not ours, say which one we speak before closing.
    if (payload.size() != 1 || payload[0] != protocol_version) {
      peer_version_ = payload.empty() ? 0 : payload[0];
      fail(ec::protocol_version_mismatch);
      wire_ = bytes{0, version_reject_size, version_reject_marker, protocol_version};
      return;
    }
  } else {
    // Message 2 carries the responder's identity, message 3 the initiator's.
    if (auto err = decode_and_verify_payload(payload.data(), payload.size(),
                                             *hs.remote_static(), remote_);
        err != ec::none) {
      fail(err);
      return;
    }
    if (remote_.identity_key == self_.id()) {
      fail(ec::self_connection);
      return;
    }
  }
  if (hs.my_turn()) {
    write_handshake_message(encode_payload(make_payload(
      credential_->owner, credential_->signature, cfg_.role, cfg_.listen_port, cfg_.observed,
      our_features(cfg_.probe, cfg_.offers_aesgcm()))));
    if (state_ == state::closed)
      return;
  }
  if (hs.finished())
    become_established();
}

void stream_session::become_established() {
  auto [send, receive] = handshake_->split();
  // Both payloads are in the handshake hash: the choice cannot be tampered with.
  cipher_ = cfg_.transport_cipher(remote_.features);
  send.use(cipher_);
  receive.use(cipher_);
  channel_.emplace(std::move(send), std::move(receive), cfg_.rekey_interval);
  handshake_hash_ = handshake_->handshake_hash();
  handshake_.reset();
  // The initiator is done before the responder has read message 3: until a
  // transport frame arrives, the responder may still abort (a 2-byte frame).
  abort_possible_ = initiator_;
  decoder_.set_limits(max_frame_size, abort_possible_ ? handshake_abort_size : noise::tag_len);
  state_ = state::established;
  events_.emplace_back(session_established{});
}

// -- transport frames ----------------------------------------------------------

void stream_session::handle_transport_frame(uint8_t* body, size_t len, time_point now) {
  if (abort_possible_) {
    if (take_handshake_abort(body, len))
      return;
    abort_possible_ = false; // the responder holds the keys: no more aborts
    decoder_.set_limits(max_frame_size, noise::tag_len);
  }
  if (auto err = channel_->open_in_place(body, len); err != ec::none) {
    fail(err);
    return;
  }
  const uint8_t* pos = body;
  const uint8_t* end = body + len - noise::tag_len;
  while (pos != end) {
    item_view item;
    if (auto err = read_item(pos, end, item); err != ec::none) {
      fail(err);
      return;
    }
    switch (item.kind) {
      case item_kind::data_more:
      case item_kind::data_last: {
        auto& buf = reassembly_[item.channel];
        if (buf.size() + item.len > cfg_.max_message_size) {
          fail(ec::message_too_large);
          return;
        }
        if (item.kind == item_kind::data_last && buf.empty()) {
          events_.emplace_back(session_message{bytes(item.body, item.body + item.len)});
        } else {
          if (buf.empty())
            // The first fragment: room for a second frame's worth, so a
            // message of two frames (64 KiB ones) is not moved on the way.
            buf.reserve(std::min(cfg_.max_message_size, 2 * item.len + 64));
          buf.insert(buf.end(), item.body, item.body + item.len);
          if (item.kind == item_kind::data_last) {
            events_.emplace_back(session_message{std::move(buf)});
            buf = bytes{};
          }
        }
        if (item.kind == item_kind::data_last)
          ++messages_received_;
        break;
      }
      case item_kind::service:
        events_.emplace_back(session_service{item.channel, bytes(item.body, item.body + item.len)});
        break;
      case item_kind::ping:
        if (pongs_.size() < max_pending_pongs) {
          std::array<uint8_t, 8> token;
          std::memcpy(token.data(), item.body, 8);
          pongs_.push_back(token);
        }
        break;
      case item_kind::pong: {
        auto sent = wire::load_u64(item.body);
        auto now_ns = static_cast<uint64_t>(now.time_since_epoch().count());
        if (now_ns >= sent)
          last_rtt_ = std::chrono::nanoseconds(now_ns - sent);
        break;
      }
      case item_kind::close: {
        auto reason = static_cast<ec>(item.body[0]);
        if (reason == ec::none)
          reason = ec::closed_by_peer;
        if (state_ == state::closing) {
          finish(close_reason_, false); // both CLOSEs exchanged
          return;
        }
        // Answer with our own CLOSE once our queue is out; then we are done.
        peer_closed_ = reason;
        if (!closing_ && !defer_close_reply_)
          closing_ = reason;
        break;
      }
    }
  }
}

// -- closing -------------------------------------------------------------------

void stream_session::fail(ec reason) {
  if (state_ == state::closed)
    return;
  wire_.clear(); // queued messages are dropped by finish()
  if (state_ == state::established) {
    // Tell the peer why, if our sending half still works.
    uint8_t frame[frame_header_size + item_header_size + 1 + noise::tag_len];
    uint8_t* plain = frame + frame_header_size;
    write_item_header(plain, item_kind::close, 0, 1);
    plain[item_header_size] = static_cast<uint8_t>(reason);
    if (channel_->seal_in_place(plain, item_header_size + 1) == ec::none) {
      write_frame_header(frame, item_header_size + 1 + noise::tag_len);
      wire_.insert(wire_.end(), frame, frame + sizeof(frame));
    }
  }
  finish(reason, false);
}

void stream_session::finish(ec reason, bool by_peer, uint32_t retry_after_ms) {
  state_ = state::closed;
  for (auto& q : queues_)
    q.clear();
  queued_bytes_ = 0;
  queued_messages_ = 0;
  pongs_.clear();
  services_.clear();
  service_bytes_ = 0;
  best_effort_bytes_ = 0;
  ping_due_ = false;
  events_.emplace_back(session_closed{reason, by_peer, retry_after_ms});
}

// -- output --------------------------------------------------------------------

bool stream_session::has_data() const {
  for (auto& q : queues_)
    if (!q.empty())
      return true;
  return false;
}

bool stream_session::has_control() const {
  return ping_due_ || !pongs_.empty() || !services_.empty();
}

bool stream_session::wants_transmit() const {
  if (!wire_.empty())
    return true;
  if (state_ != state::established)
    return false;
  return has_control() || has_data() || closing_.has_value();
}

size_t stream_session::pending_plaintext() const {
  return pongs_.size() * (item_header_size + 8) + (ping_due_ ? item_header_size + 8 : 0)
         + services_.size() * item_header_size + service_bytes_
         + queued_messages_ * item_header_size + queued_bytes_
         + (closing_ ? item_header_size + 1 : 0);
}

void stream_session::build_frame(bytes& out, time_point now) {
  auto start = out.size();
  // The frame is appended item by item (poll_transmit reserved the room;
  // beyond it the vector grows as vectors do): sizing the buffer first
  // would zero every byte before it is written.
  // Only as much room as this frame can fill is counted on, so a frame of a
  // few small messages does not take a whole frame's worth.
  const size_t limit = std::min(pending_plaintext(), max_frame_plaintext);
  out.resize(start + frame_header_size); // the header, written once sealed
  size_t used = 0;
  auto room = [&] { return limit - used; };
  auto put_header = [&](item_kind kind, uint8_t channel, size_t len) {
    uint8_t h[item_header_size];
    write_item_header(h, kind, channel, len);
    out.insert(out.end(), h, h + item_header_size);
    used += item_header_size;
  };
  auto put = [&](const uint8_t* data, size_t len) {
    out.insert(out.end(), data, data + len);
    used += len;
  };
  while (!pongs_.empty() && room() >= item_header_size + 8) {
    put_header(item_kind::pong, 0, 8);
    put(pongs_.front().data(), 8);
    pongs_.pop_front();
  }
  if (ping_due_ && room() >= item_header_size + 8) {
    put_header(item_kind::ping, 0, 8);
    uint8_t stamp[8];
    wire::store_u64(stamp, static_cast<uint64_t>(now.time_since_epoch().count()));
    put(stamp, 8);
    ping_due_ = false;
  }
  while (!services_.empty()
         && room() >= item_header_size + services_.front().item.body.size()) {
    auto& x = services_.front().item;
    put_header(item_kind::service, x.service, x.body.size());
    put(x.body.data(), x.body.size());
    service_bytes_ -= x.body.size();
    if (!services_.front().windowed)
      best_effort_bytes_ -= x.body.size();
    services_.pop_front();
  }
  for (uint8_t prio = 0; prio < priority_levels; ++prio) {
    auto& q = queues_[prio];
    while (!q.empty()) {
      auto& msg = q.front();
      auto remaining = msg.payload.size() - msg.offset;
      if (room() < item_header_size + (remaining > 0 ? 1 : 0))
        break; // an empty message needs just its header
      auto space = room() - item_header_size;
      if (remaining > space && space < min_fragment && used > 0)
        break;
      auto n = std::min(remaining, space);
      bool last = n == remaining;
      put_header(last ? item_kind::data_last : item_kind::data_more, prio, n);
      put(msg.payload.data() + msg.offset, n);
      msg.offset += n;
      queued_bytes_ -= n;
      if (last) {
        ++messages_sent_;
        --queued_messages_;
        q.pop_front();
      }
    }
  }
  if (!has_data() && closing_ && room() >= item_header_size + 1) {
    put_header(item_kind::close, 0, 1);
    auto reason = static_cast<uint8_t>(*closing_);
    put(&reason, 1);
  }
  out.resize(out.size() + noise::tag_len); // the tag's room
  if (auto err = channel_->seal_in_place(out.data() + start + frame_header_size, used);
      err != ec::none) {
    out.resize(start);
    fail(err);
    return;
  }
  write_frame_header(out.data() + start, used + noise::tag_len);
  if (!has_data() && closing_) {
    close_reason_ = *closing_;
    closing_.reset();
    if (peer_closed_) {
      finish(*peer_closed_, true);
    } else {
      state_ = state::closing;
      close_deadline_ = now + cfg_.close_timeout;
      pongs_.clear();
      ping_due_ = false;
    }
  }
}

size_t stream_session::poll_transmit(bytes& out, size_t max_bytes, time_point now) {
  auto before = out.size();
  if (state_ == state::established) {
    // One allocation for what this call writes, not one per growth step:
    // everything pending in frames (each with its header, tag and a
    // fragment's item header), at most one frame beyond `max_bytes`.
    auto plain = pending_plaintext();
    auto frames = plain / max_frame_plaintext + 1;
    auto all = plain + frames * (frame_header_size + noise::tag_len + item_header_size);
    out.reserve(before + wire_.size()
                + std::min(all, max_bytes + frame_header_size + max_frame_size));
  }
  if (!wire_.empty()) {
    out.insert(out.end(), wire_.begin(), wire_.end());
    wire_.clear();
  }
  while (state_ == state::established && out.size() - before < max_bytes
         && (has_control() || has_data() || closing_))
    build_frame(out, now);
  auto added = out.size() - before;
  if (added > 0)
    last_sent_ = now;
  return added;
}

std::optional<session_event> stream_session::poll_event() {
  if (events_.empty())
    return std::nullopt;
  auto ev = std::move(events_.front());
  events_.pop_front();
  return ev;
}

stream_session::time_point stream_session::next_deadline() const {
  switch (state_) {
    case state::handshaking:
      return handshake_deadline_;
    case state::established:
      return std::min(last_received_ + cfg_.peer_timeout, last_sent_ + cfg_.keepalive_interval);
    case state::closing:
      return close_deadline_;
    default:
      return time_point::max();
  }
}

} // namespace crust
