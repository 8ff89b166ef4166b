#include "actors/udp_mux.hpp"

#include "nat/stun_message.hpp"
#include "transport/rudp/packet.hpp"

#include <caf/send.hpp>

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <ctime>

namespace crust {

uint64_t cid_to_u64(const rudp::cid& x) {
  uint64_t v = 0;
  for (auto b : x)
    v = v << 8 | b;
  return v;
}

rudp::cid u64_to_cid(uint64_t v) {
  rudp::cid x;
  for (int i = 7; i >= 0; --i) {
    x[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
    v >>= 8;
  }
  return x;
}

namespace {

constexpr auto pending_timeout = std::chrono::seconds(10);

void on_initial(udp_mux_pointer self, udp_datagram& x, uint64_t dcid) {
  auto& st = self->state;
  if (auto i = st.initials.find(dcid); i != st.initials.end()) {
    self->send(i->second, datagram_in{std::move(x.data)}); // a repeat: its responder answers
    return;
  }
  if (st.pending.count(dcid) > 0)
    return; // being set up
  auto initial = std::make_shared<rudp::initial_packet>();
  if (rudp::decode(x.data.data(), x.data.size(), *initial) != ec::none) {
    ++st.refused;
    return;
  }
  auto now = static_cast<uint32_t>(std::time(nullptr));
  if (!st.tokens.valid(initial->token, x.from.address, x.from.port, initial->scid, initial->dcid,
                       now)) {
    // Prove you receive at that address first: no state, no cryptography.
    ++st.retries;
    rudp::retry_packet r{initial->scid, initial->dcid,
                         st.tokens.mint(x.from.address, x.from.port, initial->scid,
                                        initial->dcid, now)};
    boost::system::error_code err;
    auto addr = boost::asio::ip::make_address(x.from.address, err);
    if (!err)
      st.socket->send_to(rudp::encode(r), datagram_socket::udp::endpoint(addr, x.from.port));
    return;
  }
  // Validated; clear out stale entries, then bound the set-ups in flight.
  auto t = std::chrono::steady_clock::now();
  for (auto i = st.pending.begin(); i != st.pending.end();) {
    if (t - i->second <= pending_timeout) {
      ++i;
      continue;
    }
    st.pending_aborts.erase(i->first);
    i = st.pending.erase(i);
  }
  if (st.pending.size() >= st.max_pending) {
    ++st.refused;
    return;
  }
  st.pending.emplace(dcid, t);
  self->send(st.manager, incoming_udp{std::move(initial), x.from});
}

/// An ABORT naming a client's first dcid: its responder checks it, now or
/// once the manager has set it up.
void on_abort(udp_mux_pointer self, udp_datagram& x, uint64_t dcid) {
  auto& st = self->state;
  if (auto i = st.initials.find(dcid); i != st.initials.end())
    self->send(i->second, datagram_in{std::move(x.data)});
  else if (st.pending.count(dcid) > 0)
    st.pending_aborts[dcid] = std::move(x.data);
}

/// Deals with what the socket's thread does not route itself: STUN (to the
/// puncher), INITIALs (stateless retry, then the manager), ABORTs naming a
/// client's first dcid (to its responder); anything else is not ours.
void route(udp_mux_pointer self, udp_datagram& x) {
  auto& st = self->state;
  // STUN first: a Binding response's first byte is a valid reliable-UDP type.
  if (stun::looks_like_stun(x.data.data(), x.data.size())) {
    if (st.puncher)
      self->send(st.puncher, raw_datagram{std::move(x.from), std::move(x.data)});
    return;
  }
  auto p = rudp::peek(x.data.data(), x.data.size());
  if (p && p->type == rudp::packet_type::initial)
    on_initial(self, x, cid_to_u64(p->dcid));
  else if (p && p->type == rudp::packet_type::abort)
    on_abort(self, x, cid_to_u64(p->dcid));
}

} // namespace

udp_mux_actor::behavior_type udp_mux(udp_mux_pointer self, std::shared_ptr<io_runtime> runtime,
                                     std::shared_ptr<datagram_socket> socket,
                                     manager_actor manager, nat_actor puncher, logger_ptr log) {
  auto& st = self->state;
  st.puncher = std::move(puncher);
  st.runtime = std::move(runtime);
  st.socket = std::move(socket);
  st.manager = std::move(manager);
  st.log = std::move(log);
  caf::weak_actor_ptr weak = self->ctrl();
  st.socket->start_batched(
    [weak, routes = st.routes](std::vector<std::pair<bytes, datagram_socket::udp::endpoint>> batch) {
      auto strong = weak.lock();
      if (!strong)
        return;
      // DATA and HANDSHAKE packets of known connections go straight to them
      // (one message per connection per batch), those of unknown ids
      // nowhere; STUN, INITIALs and anything else to the mux.
      std::vector<std::pair<connection_actor, datagram_batch>> direct;
      udp_batch msg;
      // A batch mostly comes from few peers: spell each source once.
      const datagram_socket::udp::endpoint* last = nullptr;
      for (auto& [data, from] : batch) {
        if (!stun::looks_like_stun(data.data(), data.size()))
          if (auto p = rudp::peek(data.data(), data.size());
              p && p->type != rudp::packet_type::initial) {
            if (auto conn = routes->find(cid_to_u64(p->dcid))) {
              auto g = std::find_if(direct.begin(), direct.end(),
                                    [&](auto& y) { return y.first == conn; });
              if (g == direct.end())
                g = direct.insert(direct.end(), {std::move(conn), datagram_batch{}});
              g->second.data.push_back(std::move(data));
              continue;
            }
            // An unknown id: nobody's, but for an ABORT from a client that
            // had not heard from its responder yet (its dcid is the one its
            // INITIAL named, which the mux knows).
            if (p->type != rudp::packet_type::abort)
              continue;
          }
        if (last && *last == from) {
          msg.datagrams.push_back(udp_datagram{std::move(data), msg.datagrams.back().from});
          continue;
        }
        last = &from;
        auto addr = from.address();
        if (addr.is_v6() && addr.to_v6().is_v4_mapped())
          addr = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6());
        msg.datagrams.push_back(
          udp_datagram{std::move(data), endpoint{protocol::udp, addr.to_string(), from.port()}});
      }
      // Urgent: ACKs drive the peer's congestion window and loss detection,
      // so they do not wait behind the application's sends in the mailbox.
      for (auto& [conn, d] : direct)
        caf::anon_send<caf::message_priority::high>(conn, std::move(d));
      if (!msg.datagrams.empty())
        caf::anon_send(caf::actor_cast<udp_mux_actor>(strong), std::move(msg));
    },
    rudp::max_datagram_size);
  self->set_exit_handler([self](const caf::exit_msg& x) { self->quit(x.reason); });
  return {
    [self](udp_batch& x) {
      for (auto& d : x.datagrams)
        route(self, d);
    },
    [self](raw_datagram& x) {
      auto& st = self->state;
      boost::system::error_code err;
      auto addr = boost::asio::ip::make_address(x.remote.address, err);
      if (err)
        return;
      if (addr.is_v4() && st.socket->local_endpoint().address().is_v6())
        addr = boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, addr.to_v4());
      st.socket->send_to(std::move(x.data), datagram_socket::udp::endpoint(addr, x.remote.port));
    },
    [self](stats_atom) {
      auto& st = self->state;
      return std::make_tuple(st.retries, st.refused, static_cast<uint64_t>(st.pending.size()));
    },
    [self](udp_route& x) {
      auto& st = self->state;
      if (x.conn) {
        st.routes->set(x.cid, x.conn);
        if (x.initial_dcid != 0) {
          st.initials[x.initial_dcid] = x.conn;
          st.pending.erase(x.initial_dcid);
          if (auto a = st.pending_aborts.find(x.initial_dcid); a != st.pending_aborts.end()) {
            self->send(x.conn, datagram_in{std::move(a->second)});
            st.pending_aborts.erase(a);
          }
        }
        return;
      }
      st.routes->erase(x.cid);
      if (x.initial_dcid != 0) {
        st.initials.erase(x.initial_dcid);
        st.pending.erase(x.initial_dcid);
        st.pending_aborts.erase(x.initial_dcid);
      }
    },
  };
}

} // namespace crust
