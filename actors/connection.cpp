#include "actors/connection.hpp"

#include "transport/tcp_stream.hpp"

#include <caf/send.hpp>

namespace crust {

namespace {

/// Bytes handed to the socket but not yet written, at most. Until the socket
/// drains below it, messages wait in the session queue, where small ones
/// coalesce into shared frames.
constexpr size_t max_unflushed = 256 * 1024;

/// Callbacks that turn the stream's I/O events into messages to `self`. They
/// hold only a weak reference, so a stream never keeps its actor alive.
tcp_stream::callbacks stream_callbacks(connection_pointer self) {
  caf::weak_actor_ptr weak = self->ctrl();
  auto deliver = [weak](auto msg) {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<connection_actor>(strong), std::move(msg));
  };
  tcp_stream::callbacks cbs;
  cbs.on_connected = [deliver] { deliver(stream_connected{}); };
  cbs.on_data = [deliver](bytes chunk) { deliver(stream_data{std::move(chunk)}); };
  cbs.on_written = [deliver](size_t n) { deliver(stream_written{n}); };
  cbs.on_end = [deliver](ec reason, std::string what) {
    deliver(stream_ended{reason, std::move(what)});
  };
  return cbs;
}

void report_closed(connection_pointer self, ec reason, bool by_peer) {
  auto& st = self->state;
  connection_closed msg;
  msg.conn = self;
  msg.authenticated = st.authenticated;
  if (msg.authenticated)
    msg.peer = st.session->remote();
  msg.reason = reason;
  msg.by_peer = by_peer;
  msg.remote = st.remote;
  msg.dir = st.dir;
  if (st.session) {
    msg.messages_sent = st.session->messages_sent();
    msg.messages_received = st.session->messages_received();
  }
  msg.bytes_sent = st.bytes_sent;
  msg.bytes_received = st.bytes_received;
  auto* peer = msg.authenticated ? &msg.peer : nullptr;
  CRUST_LOG(st.params.log, debug, peer, "connection",
            to_string(st.dir) << " link with " << to_string(st.remote) << " closed: "
                              << to_string(reason) << (by_peer ? " (by peer)" : "") << ", "
                              << msg.bytes_sent << " bytes sent, " << msg.bytes_received
                              << " received");
  self->send(st.params.manager, std::move(msg));
}

/// Ends the connection: flushes what the session still has to say, closes
/// the socket gracefully and tells the manager.
void finish(connection_pointer self, ec reason, bool by_peer) {
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
  // Linger until the manager's `stop`, handing late sends back to it.
  report_closed(self, reason, by_peer);
}

void schedule_tick(connection_pointer self) {
  auto& st = self->state;
  auto deadline = st.session->next_deadline();
  if (deadline >= st.tick_at || deadline == stream_session::time_point::max())
    return;
  st.tick_at = deadline;
  auto now = self->clock().now();
  auto delay = deadline > now ? deadline - now : stream_session::clock::duration::zero();
  self->delayed_send(self, delay, tick_atom::value);
}

/// Hands the session's events up. Returns false once the actor finished.
bool drain_events(connection_pointer self) {
  auto& st = self->state;
  auto& session = *st.session;
  while (!st.awaiting_admission) {
    auto ev = session.poll_event();
    if (!ev)
      return true;
    if (std::holds_alternative<session_established>(*ev)) {
      // Hold everything that follows until the manager admits the link, so
      // the routing layer hears `connection_up` before any message.
      st.authenticated = true;
      st.awaiting_admission = true;
      auto& hash = session.handshake_hash();
      self->send(st.params.manager,
                 handshake_done{session.remote(), st.remote, st.dir, session.remote_role(),
                                session.remote_listen_port(), bytes(hash.begin(), hash.end()),
                                self});
    } else if (auto m = std::get_if<session_message>(&*ev)) {
      if (!st.rejected)
        self->send(st.params.routing, message{session.remote(), std::move(m->payload)});
    } else if (auto s = std::get_if<session_service>(&*ev)) {
      if (!st.rejected)
        self->send(st.params.manager, service_in{session.remote(),
                                                 static_cast<service_id>(s->service),
                                                 std::move(s->body)});
    } else {
      auto& closed = std::get<session_closed>(*ev);
      finish(self, closed.reason, closed.by_peer);
      return false;
    }
  }
  return true;
}

/// Moves the session forward: hands events up, bytes down, read credit
/// back, and arms the next timer.
void pump(connection_pointer self) {
  auto& st = self->state;
  if (st.done || !st.session)
    return;
  auto& session = *st.session;
  if (!drain_events(self))
    return;
  if (st.admitted && !st.closing_reported && session.peer_close_reason()) {
    st.closing_reported = true;
    self->send(st.params.manager,
               connection_closing{self, session.remote(), *session.peer_close_reason()});
  }
  if (!st.awaiting_admission && st.uncredited > 0 && st.stream) {
    st.stream->consumed(st.uncredited);
    st.uncredited = 0;
  }
  if (st.unflushed < max_unflushed && session.wants_transmit()) {
    bytes out;
    session.poll_transmit(out, max_unflushed - st.unflushed, self->clock().now());
    if (!out.empty()) {
      st.unflushed += out.size();
      st.stream->write(std::move(out));
    }
    // Sending our CLOSE may have ended the session.
    if (!drain_events(self))
      return;
  }
  schedule_tick(self);
}

void start_session(connection_pointer self, bool initiator) {
  auto& st = self->state;
  auto cfg = st.params.session;
  cfg.observed = st.remote; // the dialled endpoint, or the accepted socket's peer
  st.session.emplace(cfg, *st.self_id, initiator, self->clock().now());
  pump(self);
}

} // namespace

connection_actor::behavior_type connection(connection_pointer self, connection_params params,
                                           direction dir, endpoint remote,
                                           std::shared_ptr<tcp_stream> stream) {
  auto& st = self->state;
  st.runtime = params.runtime;
  st.self_id = params.self_id;
  st.params = std::move(params);
  st.dir = dir;
  st.remote = remote;
  if (stream) {
    st.stream = std::move(stream);
    st.stream->start(stream_callbacks(self));
    start_session(self, false);
  } else {
    st.stream = tcp_stream::make(st.runtime->context());
    st.stream->connect(remote, st.params.connect_timeout, stream_callbacks(self));
  }
  self->set_exit_handler([self](const caf::exit_msg& x) {
    // The manager went away (links) or we are told to stop: close at once,
    // telling the peer why.
    if (self->state.session)
      self->state.session->close(ec::shutting_down);
    finish(self, ec::shutting_down, false);
    self->quit(x.reason);
  });
  return {
    [self](send& x) {
      auto& st = self->state;
      if (st.admitted && (st.done || !st.session->accepting())) {
        // Closing: the manager has stopped (or is about to stop) routing to
        // us and knows where this belongs now.
        self->send(st.params.manager, std::move(x));
        return;
      }
      if (!st.session || st.done) {
        self->send(st.params.routing, send_failed{x.peer, ec::not_connected, std::move(x.payload)});
        return;
      }
      if (auto err = st.session->send(x.payload, x.priority); err != ec::none) {
        self->send(st.params.routing, send_failed{x.peer, err, std::move(x.payload)});
        return;
      }
      // Flush once the messages already in the mailbox are queued too, so a
      // burst of small messages shares frames.
      if (!st.flush_pending) {
        st.flush_pending = true;
        self->send(self, flush_atom::value);
      }
    },
    [self](service_out& x) {
      auto& st = self->state;
      if (!st.session || st.done || !st.admitted)
        return; // best effort: discovery does not depend on any one message
      auto err = st.session->send_service(static_cast<uint8_t>(x.service), std::move(x.body));
      if (err != ec::none) {
        CRUST_LOG(st.params.log, debug, &x.peer, "connection",
                  "service message not sent: " << to_string(err));
        return;
      }
      if (!st.flush_pending) {
        st.flush_pending = true;
        self->send(self, flush_atom::value);
      }
    },
    [self](flush_atom) {
      self->state.flush_pending = false;
      pump(self);
    },
    [self](admit_atom) {
      self->state.admitted = true;
      self->state.awaiting_admission = false;
      pump(self);
    },
    [self](close_atom, ec reason) {
      auto& st = self->state;
      if (!st.session) {
        finish(self, reason, false);
        return;
      }
      // A duplicate still delivers what the peer sent on it (the peer may
      // have chosen it, and the peer is up through its twin); a dropped or
      // refused peer delivers nothing more: the routing layer is done with it.
      st.rejected = reason != ec::duplicate_connection;
      st.awaiting_admission = false;
      st.closing_reported = true; // the manager decided this itself
      st.session->close(reason);
      pump(self);
    },
    [self](tick_atom) {
      auto& st = self->state;
      st.tick_at = stream_session::time_point::max();
      if (st.session) {
        st.session->handle_timeout(self->clock().now());
        pump(self);
      }
    },
    [self](stop_atom) { self->quit(); },
    [self](stream_connected) {
      if (!self->state.done)
        start_session(self, true);
    },
    [self](stream_data& x) {
      auto& st = self->state;
      if (!st.session || st.done)
        return;
      st.uncredited += x.chunk.size();
      st.bytes_received += x.chunk.size();
      st.session->handle_data(x.chunk.data(), x.chunk.size(), self->clock().now());
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
      if (!st.session) {
        finish(self, x.reason == ec::closed_by_peer ? ec::connect_failed : x.reason, true);
        return;
      }
      st.session->handle_stream_end(x.reason);
      pump(self);
    },
    [self](peers_atom) -> peer_info {
      auto& st = self->state;
      peer_info info;
      if (st.session) {
        info.peer = st.session->remote();
        info.role = st.session->remote_role();
        info.messages_sent = st.session->messages_sent();
        info.messages_received = st.session->messages_received();
        if (auto seen = st.session->observed_by_peer())
          info.observed = *seen;
        if (auto rtt = st.session->last_rtt())
          info.rtt_us = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(*rtt).count());
      }
      info.remote = st.remote;
      info.dir = st.dir;
      info.transport = protocol::tcp;
      info.bytes_sent = st.bytes_sent;
      info.bytes_received = st.bytes_received;
      return info;
    },
  };
}

} // namespace crust
