#include "actors/connection.hpp"
#include "actors/enqueue_anonymous.hpp"

#include "actors/udp_mux.hpp"
#include "transport/tcp_stream.hpp"

#include <caf/send.hpp>

#include <boost/asio/ip/address.hpp>

#include <utility>

namespace crust {

namespace {

/// Bytes handed to the socket but not yet written, at most. Until the socket
/// drains below it, messages wait in the session queue, where small ones
/// coalesce into shared frames.
constexpr size_t max_unflushed = 256 * 1024;

/// Datagrams sent per pump at most, so one busy link cannot starve the
/// actor's mailbox (the rest go at the next tick or flush).
constexpr size_t max_datagrams_per_pump = 64;

/// Callbacks that turn the stream's I/O events into messages to `self`. They
/// hold only a weak reference, so a stream never keeps its actor alive.
byte_stream::callbacks stream_callbacks(connection_pointer self) {
  caf::weak_actor_ptr weak = self->ctrl();
  auto deliver = [weak](auto msg) {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<connection_actor>(strong), std::move(msg));
  };
  byte_stream::callbacks cbs;
  cbs.on_connected = [deliver] { deliver(stream_connected{}); };
  cbs.on_data = [deliver](bytes chunk) { deliver(stream_data{std::move(chunk)}); };
  cbs.on_written = [deliver](size_t n) { deliver(stream_written{n}); };
  cbs.on_end = [deliver](ec reason, std::string what) {
    deliver(stream_ended{reason, std::move(what)});
  };
  return cbs;
}

void set_route(connection_pointer self, bool on) {
  auto& st = self->state;
  if (!st.rsession || !st.params.mux || st.routed == on)
    return;
  st.routed = on;
  udp_route r;
  r.cid = cid_to_u64(st.rsession->local_cid());
  if (st.dir == direction::inbound)
    r.initial_dcid = cid_to_u64(st.rsession->initial_dcid());
  if (on)
    r.conn = self;
  self->send(st.params.mux, std::move(r));
}

void report_closed(connection_pointer self, ec reason, bool by_peer, uint32_t retry_after_ms) {
  auto& st = self->state;
  connection_closed msg;
  msg.retry_after_ms = retry_after_ms;
  msg.conn = self;
  msg.authenticated = st.authenticated;
  if (msg.authenticated)
    msg.peer = st.visit([](auto& s) { return s.remote(); });
  msg.reason = reason;
  msg.by_peer = by_peer;
  msg.remote = st.remote;
  msg.dir = st.dir;
  if (st.has_session()) {
    msg.messages_sent = st.visit([](auto& s) { return s.messages_sent(); });
    msg.messages_received = st.visit([](auto& s) { return s.messages_received(); });
  }
  msg.bytes_sent = st.bytes_sent;
  msg.bytes_received = st.bytes_received;
  auto* peer = msg.authenticated ? &msg.peer : nullptr;
  CRUST_LOG(st.params.log, debug, peer, "connection",
            to_string(st.dir) << " " << to_string(st.transport) << " link with "
                              << to_string(st.remote) << " closed: " << to_string(reason)
                              << (by_peer ? " (by peer)" : "") << ", " << msg.bytes_sent
                              << " bytes sent, " << msg.bytes_received << " received");
  self->send(st.params.manager, std::move(msg));
}

/// Sends what a reliable-UDP session has to say (at most a pump's worth).
void send_datagrams(connection_pointer self) {
  auto& st = self->state;
  if (!st.rsession || !st.udp_remote || !st.params.udp_socket)
    return;
  bytes d;
  auto now = self->clock().now();
  std::vector<bytes> batch;
  for (size_t i = 0; i < max_datagrams_per_pump && st.rsession->poll_datagram(d, now); ++i) {
    st.bytes_sent += d.size();
    batch.push_back(std::move(d));
    d = bytes{};
  }
  if (!batch.empty())
    st.params.udp_socket->send_batch(std::move(batch), *st.udp_remote);
}

/// Ends the connection: flushes what the session still has to say, closes
/// the socket gracefully and tells the manager.
void finish(connection_pointer self, ec reason, bool by_peer, uint32_t retry_after_ms = 0) {
  auto& st = self->state;
  if (st.done)
    return;
  st.done = true;
  if (st.stream) {
    if (st.session) {
      bytes last;
      st.session->poll_transmit(last, SIZE_MAX, self->clock().now());
      st.stream->write(std::move(last));
    }
    st.stream->close();
  }
  send_datagrams(self); // a final ACK, if the session owes one
  set_route(self, false);
  // Linger until the manager's `stop`, handing late sends back to it.
  report_closed(self, reason, by_peer, retry_after_ms);
}

void schedule_tick(connection_pointer self) {
  auto& st = self->state;
  auto deadline = st.visit([](auto& s) { return s.next_deadline(); });
  if (deadline >= st.tick_at || deadline == stream_session::time_point::max())
    return;
  st.tick_at = deadline;
  auto now = self->clock().now();
  auto delay = deadline > now ? deadline - now : stream_session::clock::duration::zero();
  // Urgent, as datagrams are: pacing, ACK and loss timers keep their time
  // under a backlog of sends.
  self->delayed_send<caf::message_priority::high>(self, delay, tick_atom::value);
}

/// Pumps again once the messages already in the mailbox are handled (one
/// flush at a time).
void request_flush(connection_pointer self) {
  auto& st = self->state;
  if (st.flush_pending)
    return;
  st.flush_pending = true;
  self->send(self, flush_atom::value);
}

/// Delivers a message to the routing layer as `send` would, without naming
/// this actor as its sender: a sender is a reference count on this actor
/// taken here and dropped on the routing actor's thread, one more cache
/// line between the two cores per message, and routing layers answer to the
/// node, not to a link.
template <class T>
void deliver(connection_pointer self, T&& x) {
  enqueue_anonymous(self, self->state.params.routing, std::forward<T>(x));
}

/// The messages one pass over the session's events collects for a
/// `batch_routing_actor`. It goes up, with one receipt, when it is full,
/// before any other event is handled (so batches keep their place among
/// what the link reports), and when the pass ends, however it ends.
class pending_batch {
public:
  pending_batch(connection_pointer self, stream_session::time_point now)
    : self_(self), now_(now) {
  }

  pending_batch(const pending_batch&) = delete;
  pending_batch& operator=(const pending_batch&) = delete;

  ~pending_batch() {
    flush();
  }

  void add(const peer_id& from, bytes&& payload) {
    if (batch_.payloads.empty())
      batch_.peer = from;
    bytes_ += payload.size();
    batch_.payloads.push_back(std::move(payload));
    if (batch_.payloads.size() >= max_batch_messages || bytes_ >= max_batch_bytes)
      flush();
  }

  void flush() {
    if (batch_.payloads.empty())
      return;
    batch_.receipt = self_->state.budget->deliver(bytes_, now_);
    deliver(self_, std::move(batch_));
    batch_ = message_batch{};
    bytes_ = 0;
  }

private:
  connection_pointer self_;
  stream_session::time_point now_;
  message_batch batch_;
  size_t bytes_ = 0;
};

/// Hands the session's events up. Returns false once the actor finished.
/// A batch's bytes count against the receive budget once it goes up: the
/// link may take up to one batch beyond its budget.
bool drain_events(connection_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now(); // one reading for the whole batch
  pending_batch batch{self, now};
  while (!st.awaiting_admission) {
    if (st.gated && st.admitted && !st.rejected)
      return true; // a duplicate link of this peer delivers first
    if (st.admitted && !st.rejected && !st.budget->may_deliver(now)) {
      // Over budget: take nothing more until receipts come back (the
      // budget wakes us) or the rate bucket refills.
      st.paused = true;
      auto wait = st.budget->retry_after(now);
      if (wait > wait.zero() && !st.credit_timer) {
        st.credit_timer = true;
        self->delayed_send(self, wait, credit_atom::value);
      }
      return true;
    }
    st.paused = false;
    auto ev = st.visit([](auto& s) { return s.poll_event(); });
    if (!ev)
      return true;
    auto remote = st.visit([](auto& s) { return s.remote(); });
    auto m = std::get_if<session_message>(&*ev);
    if (m && st.params.delivery_mode == delivery::batched) {
      if (!st.rejected)
        batch.add(remote, std::move(m->payload));
      continue;
    }
    batch.flush(); // what came before this event goes first
    if (std::holds_alternative<session_established>(*ev)) {
      // Hold everything that follows until the manager admits the link, so
      // the routing layer hears `connection_up` before any message.
      st.authenticated = true;
      st.awaiting_admission = true;
      auto hash = st.visit([](auto& s) { return s.handshake_hash(); });
      handshake_done hd{remote,
                        st.remote,
                        st.dir,
                        st.visit([](auto& s) { return s.remote_role(); }),
                        st.visit([](auto& s) { return s.remote_listen_port(); }),
                        bytes(hash.begin(), hash.end()),
                        self};
      hd.transport = st.transport;
      hd.role_swapped = st.dir == direction::outbound
                        && !st.visit([](auto& s) { return s.initiator(); });
      hd.probe = st.dir == direction::inbound
                 && (st.visit([](auto& s) { return s.remote_features(); }) & feature_probe) != 0;
      if (auto seen = st.visit([](auto& s) { return s.observed_by_peer(); })) {
        hd.observed = *seen;
        hd.observed.proto = st.transport; // the handshake carries address and port only
      }
      hd.duration_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now()
                                                              - st.started)
          .count());
      self->send(st.params.manager, std::move(hd));
    } else if (m) {
      if (!st.rejected) {
        auto receipt = st.budget->deliver(m->payload.size(), now);
        deliver(self, message{remote, std::move(m->payload), std::move(receipt)});
      }
    } else if (auto s = std::get_if<session_service>(&*ev)) {
      if (!st.rejected)
        self->send(st.params.manager,
                   service_in{remote, static_cast<service_id>(s->service), std::move(s->body)});
    } else {
      auto& closed = std::get<session_closed>(*ev);
      finish(self, closed.reason, closed.by_peer, closed.retry_after_ms);
      return false;
    }
  }
  return true;
}

/// Moves the session forward: hands events up, bytes down, read credit
/// back, and arms the next timer.
void pump(connection_pointer self) {
  auto& st = self->state;
  if (st.done || !st.has_session())
    return;
  if (!drain_events(self))
    return;
  auto peer_closing = st.visit([](auto& s) { return s.peer_close_reason(); });
  if (st.admitted && !st.closing_reported && peer_closing) {
    st.closing_reported = true;
    self->send(st.params.manager,
               connection_closing{self, st.visit([](auto& s) { return s.remote(); }),
                                  *peer_closing});
  }
  if (st.session) {
    auto& session = *st.session;
    if (!st.awaiting_admission && !st.paused && !st.gated && st.uncredited > 0 && st.stream) {
      st.stream->consumed(st.uncredited);
      st.uncredited = 0;
    }
    // What the stream sends at once is not reported back (no on_written
    // follows to pump again): keep going while it takes it all, a few
    // rounds, then yield to the other actors with a flush of our own.
    for (int round = 0; st.unflushed < max_unflushed && session.wants_transmit(); ++round) {
      if (round == 4) {
        request_flush(self);
        break;
      }
      bytes out;
      session.poll_transmit(out, max_unflushed - st.unflushed, self->clock().now());
      if (out.empty())
        break;
      auto n = out.size();
      auto gone = st.stream->write(std::move(out)); // the rest: on_written
      st.unflushed += n - gone;
      st.bytes_sent += gone;
    }
  } else {
    send_datagrams(self);
  }
  // Sending our CLOSE may have ended the session.
  if (!drain_events(self))
    return;
  schedule_tick(self);
}

void start_session(connection_pointer self, bool initiator) {
  auto& st = self->state;
  auto cfg = st.params.session;
  cfg.observed = st.remote; // the dialled endpoint, or the accepted socket's peer
  noise::handshake_keys keys;
  if (initiator)
    keys.ephemeral = std::exchange(st.early_ephemeral, std::nullopt);
  st.session.emplace(cfg, *st.self_id, initiator, self->clock().now(), std::move(keys));
  pump(self);
}

/// Queues a send in the session (true), or hands it back: to the manager
/// when this link is closing, to the routing layer as failed otherwise.
bool take_send(connection_pointer self, send& x) {
  auto& st = self->state;
  bool accepting = st.has_session() && st.visit([](auto& s) { return s.accepting(); });
  if (st.admitted && (st.done || !accepting)) {
    // Closing: the manager has stopped (or is about to stop) routing to
    // us and knows where this belongs now.
    self->send(st.params.manager, std::move(x));
    return false;
  }
  if (!st.has_session() || st.done) {
    self->send(st.params.routing, send_failed{x.peer, ec::not_connected, std::move(x.payload)});
    return false;
  }
  if (auto err = st.visit([&](auto& s) { return s.send(x.payload, x.priority); });
      err != ec::none) {
    self->send(st.params.routing, send_failed{x.peer, err, std::move(x.payload)});
    return false;
  }
  return true;
}

/// The manager closes this link (`close_atom`).
void close_link(connection_pointer self, ec reason) {
  auto& st = self->state;
  if (!st.has_session()) {
    finish(self, reason, false);
    return;
  }
  // A duplicate still delivers what the peer sent on it (the peer may
  // have chosen it, and the peer is up through its twin); a dropped or
  // refused peer delivers nothing more: the routing layer is done with it.
  st.rejected = reason != ec::duplicate_connection;
  st.awaiting_admission = false;
  st.closing_reported = true; // the manager decided this itself
  st.visit([&](auto& s) { s.close(reason); });
  pump(self);
}

connection_actor::behavior_type make_behavior(connection_pointer self) {
  self->set_exit_handler([self](const caf::exit_msg& x) {
    // The manager went away (links) or we are told to stop: close at once,
    // telling the peer why.
    if (self->state.has_session())
      self->state.visit([](auto& s) { s.close(ec::shutting_down); });
    send_datagrams(self);
    finish(self, ec::shutting_down, false);
    self->quit(x.reason);
  });
  return {
    [self](send& x) {
      // Flush once the messages already in the mailbox are queued too, so a
      // burst of small messages shares frames.
      if (take_send(self, x))
        request_flush(self);
    },
    [self](send_batch& x) {
      bool queued = false;
      for (auto& one : x.sends)
        queued = take_send(self, one) || queued;
      if (queued)
        request_flush(self);
    },
    [self](service_out& x) {
      auto& st = self->state;
      if (!st.has_session() || st.done || !st.admitted)
        return; // best effort: discovery does not depend on any one message
      // Relay circuits carry streams: their messages are bounded by the
      // circuits' windows, and one lost would corrupt a stream.
      bool windowed = x.service == service_id::relay;
      auto err = st.visit([&](auto& s) {
        return s.send_service(static_cast<uint8_t>(x.service), std::move(x.body), windowed);
      });
      if (err != ec::none) {
        if (windowed && err == ec::send_queue_full) {
          // Past the windows' sum: some end ignores its window. The
          // circuits through this link cannot go on intact; they end with it.
          CRUST_LOG(st.params.log, warning, &x.peer, "connection",
                    "relay traffic beyond every circuit's window: closing the link");
          finish(self, ec::send_queue_full, false);
          return;
        }
        CRUST_LOG(st.params.log, debug, &x.peer, "connection",
                  "service message not sent: " << to_string(err));
        return;
      }
      request_flush(self);
    },
    [self](flush_atom) {
      self->state.flush_pending = false;
      pump(self);
    },
    [self](gate_atom, bool on) {
      self->state.gated = on;
      if (!on)
        pump(self);
    },
    [self](credit_atom) {
      // Receipts came back or the rate bucket refilled: take input again.
      self->state.credit_timer = false;
      pump(self);
    },
    [self](closing_ack_atom) {
      auto& st = self->state;
      if (!st.has_session() || st.done)
        return;
      st.visit([](auto& s) { s.close(s.peer_close_reason().value_or(ec::closed_by_peer)); });
      pump(self);
    },
    [self](admit_atom) {
      auto& st = self->state;
      // From now on the manager routes sends here: a CLOSE from the peer
      // is answered only once the manager knows (closing_ack), so nothing
      // routed here meanwhile is lost or bounced out of order.
      if (st.has_session())
        st.visit([](auto& s) { s.set_defer_close_reply(true); });
      self->state.admitted = true;
      self->state.awaiting_admission = false;
      pump(self);
    },
    [self](close_atom, ec reason) { close_link(self, reason); },
    [self](race_lost_atom) {
      // Still handshaking, our last handshake message is not out, so the
      // peer cannot have finished this handshake: the attempt goes. Done
      // already (authenticated at our end), it stays: the manager hears of
      // it and settles it as a duplicate, as the peer does.
      if (self->state.authenticated || self->state.done)
        return;
      close_link(self, ec::duplicate_connection);
    },
    [self](tick_atom) {
      auto& st = self->state;
      if (!st.has_session() && !st.done && st.stream) {
        finish(self, ec::connect_failed, false); // a relay circuit that never opened
        return;
      }
      st.tick_at = stream_session::time_point::max();
      if (st.has_session() && !st.done) {
        st.visit([&](auto& s) { s.handle_timeout(self->clock().now()); });
        pump(self);
      }
    },
    [self](stop_atom) { self->quit(); },
    [self](stream_connected) {
      if (!self->state.done && self->state.stream)
        start_session(self, true);
    },
    [self](stream_data& x) {
      auto& st = self->state;
      if (!st.session || st.done)
        return;
      st.uncredited += x.chunk.size();
      st.bytes_received += x.chunk.size();
      st.session->handle_data(std::move(x.chunk), self->clock().now());
      pump(self);
    },
    [self](stream_written x) {
      auto& st = self->state;
      st.unflushed -= std::min<size_t>(x.count, st.unflushed);
      st.bytes_sent += x.count;
      pump(self);
    },
    [self](stream_ended& x) {
      auto& st = self->state;
      if (!st.stream)
        return;
      if (!st.session) {
        finish(self, x.reason == ec::closed_by_peer ? ec::connect_failed : x.reason, true);
        return;
      }
      st.session->handle_stream_end(x.reason);
      pump(self);
    },
    [self](datagram_batch& x) {
      auto& st = self->state;
      if (!st.rsession || st.done)
        return;
      auto now = self->clock().now();
      for (auto& d : x.data) {
        st.bytes_received += d.size();
        st.rsession->handle_datagram(d.data(), d.size(), now);
      }
      pump(self);
    },
    [self](datagram_in& x) {
      auto& st = self->state;
      if (!st.rsession || st.done)
        return;
      st.bytes_received += x.data.size();
      st.rsession->handle_datagram(x.data.data(), x.data.size(), self->clock().now());
      pump(self);
    },
    [self](peers_atom) -> peer_info {
      auto& st = self->state;
      peer_info info;
      if (st.has_session()) {
        st.visit([&](auto& s) {
          info.peer = s.remote();
          info.role = s.remote_role();
          info.messages_sent = s.messages_sent();
          info.messages_received = s.messages_received();
          if (auto seen = s.observed_by_peer())
            info.observed = *seen;
          if (st.authenticated)
            info.cipher = noise::to_string(s.transport_cipher());
          if (auto rtt = s.last_rtt())
            info.rtt_us = static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(*rtt).count());
        });
      }
      info.remote = st.remote;
      info.dir = st.dir;
      info.transport = st.transport;
      info.bytes_sent = st.bytes_sent;
      info.bytes_received = st.bytes_received;
      return info;
    },
  };
}

void init_common(connection_pointer self, connection_params& params, direction dir,
                 const endpoint& remote) {
  auto& st = self->state;
  st.runtime = params.runtime;
  st.self_id = params.self_id;
  st.params = std::move(params);
  st.dir = dir;
  st.remote = remote;
  caf::weak_actor_ptr weak = self->ctrl();
  auto wake = [weak] {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<connection_actor>(strong), credit_atom::value);
  };
  st.budget = std::make_shared<receive_budget>(st.params.receive_queue, st.params.receive_rate,
                                               std::move(wake), self->clock().now());
}

} // namespace

connection_actor::behavior_type connection(connection_pointer self, connection_params params,
                                           direction dir, endpoint remote,
                                           std::shared_ptr<byte_stream> stream) {
  init_common(self, params, dir, remote);
  auto& st = self->state;
  st.transport = protocol::tcp;
  if (stream) {
    // An accepted socket, or a relay circuit (outbound ones report
    // `on_connected` once the relay opened them, or time out here).
    st.stream = std::move(stream);
    st.stream->start(stream_callbacks(self));
    if (dir == direction::inbound)
      start_session(self, false);
    else
      self->delayed_send(self, st.params.connect_timeout, tick_atom::value);
  } else {
    auto tcp = tcp_stream::make(st.runtime->context());
    st.stream = tcp;
    if (auto& p = st.params.punch) {
      st.params.session.simultaneous_open = true;
      tcp->connect_from(p->local_address, p->local_port, remote, p->attempt_timeout,
                        std::chrono::steady_clock::now() + p->window, stream_callbacks(self));
    } else {
      tcp->connect(remote, st.params.connect_timeout, stream_callbacks(self));
    }
  }
  if (dir == direction::outbound)
    st.early_ephemeral = noise::keypair::generate(); // while the connect is under way
  return make_behavior(self);
}

connection_actor::behavior_type
udp_connection(connection_pointer self, connection_params params, direction dir, endpoint remote,
               std::shared_ptr<rudp::initial_packet> initial) {
  init_common(self, params, dir, remote);
  auto& st = self->state;
  st.transport = protocol::udp;
  auto behavior = make_behavior(self);
  boost::system::error_code err;
  auto addr = boost::asio::ip::make_address(remote.address, err);
  if (err || !st.params.udp_socket) {
    finish(self, err ? ec::invalid_argument : ec::connect_failed, false);
    return behavior;
  }
  st.udp_remote = datagram_socket::udp::endpoint(addr, remote.port);
  auto cfg = st.params.session;
  cfg.observed = remote;
  auto now = self->clock().now();
  if (initial) {
    ec why = ec::none;
    st.rsession = rudp::session::accept(cfg, st.params.rudp, *st.self_id, *initial, now, why);
    if (!st.rsession) {
      finish(self, why, true);
      return behavior;
    }
  } else {
    st.rsession = std::make_unique<rudp::session>(cfg, st.params.rudp, *st.self_id, now);
  }
  set_route(self, true);
  pump(self);
  return behavior;
}

} // namespace crust
