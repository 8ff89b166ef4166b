#pragma once

#include "messages/bytes.hpp"
#include "messages/ec.hpp"
#include "messages/peer_id.hpp"
#include "transport/frame_item.hpp"
#include "transport/handshake_payload.hpp"
#include "transport/identity.hpp"
#include "transport/noise/handshake_state.hpp"
#include "transport/rudp/packet.hpp"
#include "transport/rudp/recovery.hpp"
#include "transport/rudp/send_stream.hpp"
#include "transport/session_config.hpp"
#include "transport/stream_session.hpp"

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <optional>

namespace crust::rudp {

/// Reliable UDP's own knobs (the rest comes from session_config).
struct config {
  size_t max_datagram = 1232;             ///< UDP payload bytes per datagram at first
  /// Path MTU probing (DPLPMTUD, RFC 8899, simplified): once established, a
  /// session tries datagrams of 1452, 4096, 8952 and 16384 bytes in turn, up
  /// to this, each as a PING padded to size and carrying no data; each one
  /// acknowledged becomes the datagram size. A lost probe costs nothing but
  /// itself (it is not taken for congestion); two lost in a row wait for
  /// `probe_raise_interval`. Equal to `max_datagram`: no probing.
  size_t max_probe_datagram = max_datagram_size;
  duration probe_raise_interval = std::chrono::minutes(10);
  size_t receive_window = 4 * 1024 * 1024; ///< stream bytes the peer may send ahead
  duration max_ack_delay = std::chrono::milliseconds(25);
  duration initial_rto = std::chrono::milliseconds(250); ///< first handshake resend
};

/// One reliable, ordered, encrypted connection over datagrams, sans-I/O: fed
/// datagrams and the time, it answers datagrams to send, the same events as
/// `stream_session`, and its next deadline.
///
/// The Noise XX handshake and identity binding are the TCP ones (message 1 in
/// an INITIAL padded to 1200 bytes, messages 2 and 3 in HANDSHAKE packets,
/// resent on a timer). Afterwards each DATA packet is sealed with
/// ChaCha20-Poly1305 under its packet number as nonce; a replay window drops
/// repeats. Inside runs one reliable byte stream carrying the TCP protocol's
/// items (messages, service messages, close), with selective ACKs,
/// retransmission from measured RTT (RFC 9002 loss detection and probe
/// timeouts), NewReno congestion control, pacing and flow control.
class session {
public:
  using time_point = rudp::time_point;

  enum class state { handshaking, established, closing, closed };

  /// An initiator: its INITIAL goes out at the first `poll_datagram`.
  session(const session_config& cfg, const config& rcfg, const identity& self, time_point now);

  /// A responder for a validated INITIAL; null (and `err`) when message 1 is
  /// bad (wrong version or malformed).
  static std::unique_ptr<session> accept(const session_config& cfg, const config& rcfg,
                                         const identity& self, const initial_packet& initial,
                                         time_point now, ec& err);

  /// The id peers put in `dcid` to reach this session.
  const cid& local_cid() const { return local_cid_; }
  /// Responder: the client's first dcid (its INITIAL repeats carry it).
  const cid& initial_dcid() const { return initial_dcid_; }

  // -- input -------------------------------------------------------------------

  void handle_datagram(const uint8_t* data, size_t len, time_point now);
  void handle_timeout(time_point now);

  /// Queues a message. On success a large `payload` is taken over (left
  /// empty); on an error it is left as it was.
  ec send(bytes& payload, uint8_t priority);
  /// `windowed`: as for stream_session. Here every service message joins
  /// the send stream, whose queued bytes count against data sends' bound.
  ec send_service(uint8_t service, bytes body, bool windowed = false);
  /// Established: a CLOSE item, then done once both CLOSEs are through.
  /// Handshaking: done at once, owing the peer one ABORT (`poll_datagram`).
  void close(ec reason);
  /// When on, the peer's CLOSE is not answered by itself: the application
  /// still sends (and the peer still reads) until it calls `close` — so
  /// whatever was routed to this link before the application learnt of the
  /// close still goes out on it, in order.
  void set_defer_close_reply(bool on) { defer_close_reply_ = on; }

  // -- output ------------------------------------------------------------------

  /// One datagram to send now, if any (pacing and the congestion window may
  /// hold data back until `next_deadline`).
  bool poll_datagram(bytes& out, time_point now);

  std::optional<session_event> poll_event();
  time_point next_deadline() const;

  // -- state -------------------------------------------------------------------

  state current_state() const { return state_; }
  bool accepting() const { return state_ == state::established && !closing_; }
  std::optional<ec> peer_close_reason() const { return peer_closed_; }
  bool initiator() const { return initiator_; }
  const peer_id& remote() const { return remote_.identity_key; }
  node_role remote_role() const { return remote_.role; }
  uint16_t remote_listen_port() const { return remote_.listen_port; }
  uint32_t remote_features() const { return remote_.features; }

  /// The transport packets' cipher (once established).
  noise::cipher_kind transport_cipher() const { return cipher_; }
  const std::optional<endpoint>& observed_by_peer() const { return remote_.observed; }
  const noise::digest& handshake_hash() const { return handshake_hash_; }
  std::optional<std::chrono::nanoseconds> last_rtt() const;
  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t messages_received() const { return messages_received_; }
  size_t queued_bytes() const { return static_cast<size_t>(send_buf_.end() - send_acked_); }
  size_t congestion_window() const { return cc_.window(); }
  uint64_t packets_sent() const { return next_pn_; }
  uint64_t packets_lost() const { return lost_; }
  /// Losses that proved spurious: the packet was acknowledged after all.
  uint64_t spurious_losses() const { return spurious_; }
  uint64_t packets_dropped() const { return dropped_; } ///< undecryptable or replayed
  /// The datagram size in use: `max_datagram` until a probe confirmed more.
  size_t datagram_size() const { return mtu_; }
  uint64_t probes_lost() const { return probes_lost_; }

private:
  struct sent_packet {
    time_point sent;
    size_t size = 0;
    std::vector<std::pair<uint64_t, uint16_t>> stream; ///< (offset, length)
    bool max_data = false;
    bool probe = false; ///< a path MTU probe (padding only)
  };

  session(const session_config& cfg, const config& rcfg, const identity& self, bool initiator,
          time_point now);

  void handle_handshake(const handshake_packet& p, time_point now);
  void handle_retry(const retry_packet& p, time_point now);
  void handle_abort(const abort_packet& p);
  void handle_data(const uint8_t* data, size_t len, time_point now);
  ec read_noise(const bytes& msg);
  void write_noise(bytes& out);
  void become_established(time_point now);
  void on_ack(const ack_frame& a, time_point now);
  void detect_losses(time_point now);
  void receive_stream(uint64_t offset, const uint8_t* data, size_t len);
  void grant_window();
  /// Parses in-order stream bytes as they come: item headers, then bodies.
  void take_stream(const uint8_t* data, size_t len);
  void finish_item();
  void append_item(item_kind kind, uint8_t channel, const uint8_t* body, size_t len);
  bool stream_acked(uint64_t offset, uint64_t end) const;
  void mark_acked(uint64_t offset, uint64_t end);
  void check_closed();
  void fail(ec reason);
  void finish(ec reason, bool by_peer, uint32_t retry_after_ms = 0);
  /// One DATA packet: the ACK owed and, unless `ack_only`, what is due to
  /// send; or, with `probe` > 0, a PING padded to a datagram of that size.
  bool build_data(bytes& out, time_point now, bool ack_only, size_t probe = 0);
  /// The next size worth probing, 0 for none.
  size_t next_probe_size() const;
  void on_probe_lost(const sent_packet& p, time_point now);
  /// The datagram size in use, and the congestion controller's with it.
  void set_datagram_size(size_t size);
  bool queueing() const;
  /// How long after its sending a packet below the largest acknowledged one
  /// counts as lost: what `detect_losses` applies and `next_deadline` waits for.
  duration loss_delay() const;
  /// Stream bytes queued, never sent, and within the peer's window.
  bool has_new_data() const { return send_next_ < send_buf_.end() && send_next_ < peer_max_data_; }

  session_config cfg_;
  config rcfg_;
  const identity& self_;
  bool initiator_;
  state state_ = state::handshaking;
  cid local_cid_{};
  cid remote_cid_{};
  cid initial_dcid_{};
  std::optional<noise::handshake_state> handshake_;
  std::shared_ptr<const static_credential> credential_; ///< our Noise static key, signed
  handshake_payload remote_;
  noise::digest handshake_hash_{};
  noise::cipher_kind cipher_ = noise::cipher_kind::chachapoly;
  noise::cipher_state send_key_;
  noise::cipher_state recv_key_;

  // Handshake packets: the last one we owe the peer, resent until answered.
  bytes hs_packet_;
  initial_packet initial_;      ///< initiator: message 1 and the token
  bool hs_send_now_ = false;
  bool retried_ = false;
  bool confirmed_ = false;      ///< initiator: the responder sent us DATA
  time_point hs_resend_at_ = time_point::max();
  duration hs_rto_;
  time_point handshake_deadline_;

  // Packet numbers, acknowledgements, replay window.
  uint64_t next_pn_ = 0;
  std::map<uint64_t, uint64_t> received_; ///< low -> high, merged; at most 32 ranges
  uint64_t replay_floor_ = 0;              ///< numbers below are treated as seen
  uint64_t largest_received_ = 0;
  time_point largest_received_at_{};
  size_t unacked_eliciting_ = 0;           ///< ack-eliciting packets since our last ACK
  bool ack_pending_ = false;
  time_point ack_deadline_ = time_point::max();

  // Loss recovery and congestion control.
  std::map<uint64_t, sent_packet> sent_; ///< ack-eliciting packets in flight, by number
  rtt_estimator rtt_;
  new_reno cc_;
  pacer pacer_;
  uint64_t largest_acked_ = 0;
  bool any_acked_ = false;
  time_point last_eliciting_sent_{};
  unsigned pto_count_ = 0;
  bool probe_due_ = false;
  uint64_t lost_ = 0;
  uint64_t dropped_ = 0;
  /// Losses declared lately, by packet number: one acknowledged later was
  /// spurious (see `max_packet_threshold` in session.cpp).
  struct declared_loss {
    std::vector<std::pair<uint64_t, uint16_t>> stream; ///< (offset, length)
  };
  std::map<uint64_t, declared_loss> declared_lost_;
  uint64_t spurious_ = 0;
  uint64_t packet_threshold_ = 3;
  int64_t time_threshold_num_ = 9; ///< eighths of an RTT

  // Path MTU probing.
  size_t mtu_;                                 ///< datagram size in use
  bool probe_in_flight_ = false;
  int probe_failures_ = 0;                     ///< of the current size, in a row
  time_point next_probe_at_ = time_point::max();
  uint64_t probes_lost_ = 0;

  // The outgoing stream: items, kept until acknowledged.
  send_stream send_buf_;           ///< its `end()`: one past the last byte queued
  uint64_t send_next_ = 0;         ///< first byte never sent
  uint64_t send_acked_ = 0;        ///< every byte below is acknowledged
  std::map<uint64_t, uint64_t> acked_ranges_; ///< above send_acked_: start -> end
  std::deque<std::pair<uint64_t, uint64_t>> retransmit_; ///< [start, end) to resend
  uint64_t peer_max_data_;

  // The incoming stream.
  uint64_t recv_next_ = 0;         ///< first byte not yet received in order
  std::map<uint64_t, bytes> out_of_order_;
  size_t out_of_order_bytes_ = 0;
  // The item being received: its header is gathered first, then its body
  // goes straight where it belongs (a message's into `reassembly_`, a
  // control or service item's into `item_body_`); nothing is buffered twice.
  std::array<uint8_t, item_header_size> item_header_{};
  size_t item_header_have_ = 0;
  std::optional<item_view> item_;  ///< whose body is arriving (`body` unused)
  size_t item_left_ = 0;           ///< its body bytes still to come
  bytes item_body_;
  bytes reassembly_;
  uint64_t max_data_sent_;         ///< the limit we last advertised
  size_t queued_bytes_in_ = 0;     ///< message bytes in `events_`, not yet polled
  bool max_data_due_ = false;

  // Keepalive, timeouts, close.
  time_point last_received_;
  time_point last_sent_;
  bool ping_due_ = false;
  std::optional<ec> closing_;
  std::optional<ec> peer_closed_;
  bool defer_close_reply_ = false;
  uint64_t close_end_ = 0;         ///< our CLOSE item ends here
  time_point close_deadline_ = time_point::max();
  bool final_ack_ = false;
  bytes abort_;                    ///< an ABORT owed the peer (closed mid-handshake)

  // Scratch space reused packet after packet (no allocation per datagram).
  bytes tx_plain_;
  bytes rx_plain_;
  frames rx_frames_;

  std::deque<session_event> events_;
  uint64_t messages_sent_ = 0;
  uint64_t messages_received_ = 0;
};

} // namespace crust::rudp
