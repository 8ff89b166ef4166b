#pragma once

#include "messages/bytes.hpp"
#include "messages/ec.hpp"
#include "messages/node_role.hpp"
#include "messages/peer_id.hpp"
#include "transport/frame_decoder.hpp"
#include "transport/frame_item.hpp"
#include "transport/handshake_payload.hpp"
#include "transport/identity.hpp"
#include "transport/noise/handshake_state.hpp"
#include "transport/secure_channel.hpp"
#include "transport/session_config.hpp"

#include <array>
#include <chrono>
#include <deque>
#include <optional>
#include <variant>

namespace crust {

/// The session finished its handshake: `remote()` and friends are valid.
struct session_established {};

/// A whole message arrived.
struct session_message {
  bytes payload;
};

/// The session is over. Bytes still returned by `poll_transmit` (e.g. our
/// CLOSE frame) should be written before the socket is closed.
struct session_closed {
  ec reason;
  bool by_peer; ///< the peer closed it (or the stream ended), rather than us
  /// A peer that refused us before the handshake: when to come back (ms; 0: it did not say).
  uint32_t retry_after_ms = 0;
};

/// A service message (crust's own: bootstrap lists, gossip), not for the
/// routing layer.
struct session_service {
  uint8_t service;
  bytes body;
};

using session_event =
  std::variant<session_established, session_message, session_closed, session_service>;

/// One encrypted, authenticated stream connection, sans-I/O: fed the bytes a
/// socket read and the current time; answers with bytes to write, events and
/// the next deadline. Runs the Noise XX handshake with identity binding, then
/// frames messages (coalescing small ones, fragmenting large ones, by
/// priority), keepalives and a graceful close. No sockets, threads or clocks.
class stream_session {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// `closing`: our CLOSE is sent; we still read until the peer's CLOSE
  /// (or the end of the stream, or `close_timeout`), so nothing the peer sent
  /// before it saw ours is lost.
  enum class state { handshaking, established, closing, closed };

  /// An initiator writes its first handshake message right away. The Noise
  /// static key is the node's (`session_config::credential`). `keys` may fix
  /// the static and ephemeral keys instead (only for reproducing published
  /// test vectors); by default the ephemeral key is fresh and random.
  stream_session(const session_config& cfg, const identity& self, bool initiator,
                 time_point now, noise::handshake_keys keys = {});

  // -- input -------------------------------------------------------------------

  /// Bytes read from the stream.
  void handle_data(const uint8_t* data, size_t len, time_point now);

  /// A read handed over whole: its frames are decrypted where they lie.
  void handle_data(bytes&& chunk, time_point now);

  /// The stream ended (EOF or error): the session closes with `reason`.
  void handle_stream_end(ec reason);

  /// Call at or after `next_deadline()`.
  void handle_timeout(time_point now);

  /// Queues a message. Fails with `message_too_large`, `send_queue_full`
  /// (nothing queued; the caller keeps the payload) or `not_connected`.
  ec send(bytes& payload, uint8_t priority);

  /// Queues a service message (body at most `max_service_body`). Fails with
  /// `not_connected`, `message_too_large`, `send_queue_full` or
  /// `unsupported` (the peer did not announce `feature_services`). Service
  /// messages go before data, after keepalives, in the order queued.
  /// Best effort ones (discovery) share a small bound; `windowed` ones are
  /// bounded by their sender (a relay circuit's window, which the far end
  /// ACKs), so losing one would corrupt a stream: they get a bound of their
  /// own, far above any sum of windows we keep, and fail only past it.
  ec send_service(uint8_t service, bytes body, bool windowed = false);

  /// Closes gracefully: queued messages go out first, then a CLOSE frame with
  /// `reason`; the session ends when the peer's CLOSE arrives. During the
  /// handshake it closes at once.
  void close(ec reason);
  /// When on, the peer's CLOSE is not answered by itself: the application
  /// still sends (and the peer still reads) until it calls `close` — so
  /// whatever was routed to this link before the application learnt of the
  /// close still goes out on it, in order.
  void set_defer_close_reply(bool on) { defer_close_reply_ = on; }

  // -- output ------------------------------------------------------------------

  /// Appends bytes to write to `out`: pending handshake/close frames and then
  /// data frames until about `max_bytes` were added. Returns the bytes added.
  size_t poll_transmit(bytes& out, size_t max_bytes, time_point now);

  /// True when `poll_transmit` would add something.
  bool wants_transmit() const;

  /// Takes the next event, if any.
  std::optional<session_event> poll_event();

  /// When `handle_timeout` must run next (time_point::max() when never).
  time_point next_deadline() const;

  // -- state -------------------------------------------------------------------

  state current_state() const { return state_; }

  /// True while `send` can queue messages: established and not closing.
  bool accepting() const { return state_ == state::established && !closing_; }

  /// The reason the peer gave in its CLOSE, once it arrived.
  std::optional<ec> peer_close_reason() const { return peer_closed_; }
  bool initiator() const { return initiator_; }
  const peer_id& remote() const { return remote_.identity_key; }
  node_role remote_role() const { return remote_.role; }
  uint16_t remote_listen_port() const { return remote_.listen_port; }
  uint32_t remote_features() const { return remote_.features; }

  /// The transport frames' cipher (once established).
  noise::cipher_kind transport_cipher() const { return cipher_; }
  /// Where the peer says it sees us connecting from (our address as seen
  /// from outside: behind a NAT, the router's), if it told us.
  const std::optional<endpoint>& observed_by_peer() const { return remote_.observed; }
  const noise::digest& handshake_hash() const { return handshake_hash_; }
  /// Our Noise static public key (the node's, when its config brings one).
  const noise::public_key& static_key() const { return credential_->keys.pub; }

  /// The version a peer that refused ours said it speaks (0 when unknown).
  uint8_t peer_version() const { return peer_version_; }
  size_t queued_bytes() const { return queued_bytes_; }
  std::optional<std::chrono::nanoseconds> last_rtt() const { return last_rtt_; }
  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t messages_received() const { return messages_received_; }

private:
  struct outgoing {
    bytes payload;
    size_t offset = 0;
  };

  void handle_handshake_frame(const uint8_t* body, size_t len);
  /// A handshake abort (see `handshake_abort_marker`): closes, true.
  bool take_handshake_abort(const uint8_t* body, size_t len);
  /// Simultaneous open: `body` may be the peer's message 1 while we wait
  /// for message 2. True when it was (we turned responder or dropped it).
  bool settle_simultaneous_open(const uint8_t* body, size_t len);
  void handle_transport_frame(uint8_t* body, size_t len, time_point now);
  void write_handshake_message(const bytes& payload);
  void become_established();
  void fail(ec reason);
  void take_frames(time_point now);
  /// The plaintext all that is queued needs as frame items, at most.
  size_t pending_plaintext() const;
  void finish(ec reason, bool by_peer, uint32_t retry_after_ms = 0);
  bool has_data() const;
  bool has_control() const;
  void build_frame(bytes& out, time_point now);

  session_config cfg_;
  const identity& self_;
  bool initiator_;
  state state_ = state::handshaking;
  std::optional<noise::handshake_state> handshake_;
  std::optional<secure_channel> channel_;
  frame_decoder decoder_;
  std::shared_ptr<const static_credential> credential_; ///< our Noise static key, signed
  std::optional<noise::public_key> sent_ephemeral_; ///< in our message 1, while it may meet theirs
  bool abort_possible_ = false; ///< initiator: established, no transport frame from the peer yet
  bool heard_ = false;          ///< any bytes from the peer so far
  handshake_payload remote_;
  noise::digest handshake_hash_{};
  noise::cipher_kind cipher_ = noise::cipher_kind::chachapoly;

  bytes wire_;                              ///< handshake and final frames to send
  std::array<std::deque<outgoing>, priority_levels> queues_;
  std::array<bytes, priority_levels> reassembly_;
  std::deque<std::array<uint8_t, 8>> pongs_; ///< ping bodies to echo (bounded)
  struct queued_service {
    session_service item;
    bool windowed;
  };
  std::deque<queued_service> services_;    ///< service messages to send
  size_t service_bytes_ = 0;               ///< their bodies' bytes, both kinds
  size_t best_effort_bytes_ = 0;           ///< the best effort ones' share
  bool ping_due_ = false;
  std::optional<ec> closing_;              ///< close() called; CLOSE after the queues
  std::optional<ec> peer_closed_;          ///< the peer's CLOSE arrived first (its reason)
  bool defer_close_reply_ = false;
  ec close_reason_ = ec::none;             ///< the reason our CLOSE carried
  uint8_t peer_version_ = 0;
  time_point close_deadline_;
  size_t queued_bytes_ = 0;
  size_t queued_messages_ = 0; ///< in `queues_`, a partly sent one included
  std::deque<session_event> events_;

  time_point handshake_deadline_;
  time_point last_received_;
  time_point last_sent_;
  std::optional<std::chrono::nanoseconds> last_rtt_;
  uint64_t messages_sent_ = 0;
  uint64_t messages_received_ = 0;
};

} // namespace crust
