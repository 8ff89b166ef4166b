// An example CAF application embedding crust with its own routing layer.
//
// Each node's routing actor keeps the `keep` peers closest to it by XOR
// distance of peer ids (Kademlia's metric): it maintains them, drops the
// connections it opened to anyone else, and blacklists any peer that sends a
// message outside the application's protocol (every message must start with
// "XOR1:"). The library never chooses; this actor does.
//
// Run: xor_routing [--nodes N] [--keep K]. It starts N nodes on loopback in
// one process, lets every node dial every other, and checks the outcome:
// every node maintains exactly its K closest peers, and the node that sends
// garbage ends up blacklisted by the peer it sent it to. Exit code 0 = as
// expected.

#include "actors/node.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

constexpr char protocol_prefix[] = "XOR1:";

/// XOR distance between two ids, compared bytewise (big-endian number).
std::array<uint8_t, 32> distance(const crust::peer_id& a, const crust::peer_id& b) {
  std::array<uint8_t, 32> d;
  for (size_t i = 0; i < d.size(); ++i)
    d[i] = a.key[i] ^ b.key[i];
  return d;
}

/// The `keep` ids of `candidates` closest to `self`.
std::set<crust::peer_id> closest(const crust::peer_id& self, std::vector<crust::peer_id> candidates,
                                 size_t keep) {
  std::sort(candidates.begin(), candidates.end(), [&](auto& a, auto& b) {
    return distance(self, a) < distance(self, b);
  });
  candidates.resize(std::min(keep, candidates.size()));
  return {candidates.begin(), candidates.end()};
}

using settle_atom = caf::atom_constant<caf::atom("settle")>;

/// The routing layer's interface: crust's events plus our own timer.
using xor_routing_actor = crust::routing_actor::extend<caf::reacts_to<settle_atom, uint64_t>,
                                                       caf::reacts_to<crust::node_actor>>;

struct xor_state {
  crust::peer_id self;
  size_t keep = 2;
  crust::node_actor node;
  std::set<crust::peer_id> seen; ///< every peer that was ever up
  std::set<crust::peer_id> chosen;
  std::set<crust::peer_id> blacklisted;
  uint64_t generation = 0; ///< a later connection_up restarts the settle timer
  static inline const char* name = "xor_routing";
};

/// Once no new peer came up for a while: maintain the closest, drop the
/// other connections we opened. Connections others opened to us are theirs
/// to keep or drop. Directions come from the node's own table: a duplicate
/// resolved in the background may have changed which socket serves a peer.
void settle(xor_routing_actor::stateful_pointer<xor_state> self) {
  self->request(self->state.node, 5s, crust::peers_atom::value)
    .then([=](const std::vector<crust::peer_info>& peers) {
      auto& st = self->state;
      // Choose among every peer we have seen: a chosen peer that went away
      // is maintained all the same, and crust dials it again.
      std::vector<crust::peer_id> candidates;
      for (auto& peer : st.seen)
        if (!st.blacklisted.count(peer))
          candidates.push_back(peer);
      st.chosen = closest(st.self, candidates, st.keep);
      for (auto& peer : st.chosen)
        self->send(st.node, crust::maintain{peer});
      for (auto& p : peers)
        if (!st.chosen.count(p.peer) && p.dir == crust::direction::outbound && !p.maintained)
          self->send(st.node, crust::drop{p.peer});
    });
}

xor_routing_actor::behavior_type xor_routing(xor_routing_actor::stateful_pointer<xor_state> self,
                                             crust::peer_id me, size_t keep) {
  self->state.self = me;
  self->state.keep = keep;
  return {
    [=](crust::node_actor node) { self->state.node = node; },
    [=](crust::connection_up& x) {
      self->state.seen.insert(x.peer);
      self->delayed_send(self, 300ms, settle_atom::value, ++self->state.generation);
    },
    [](crust::path_changed&) {}, // still connected: nothing to choose again
    [=](crust::connection_down&) {
      // Choose again: a chosen peer that went away is maintained (re-dialled).
      self->delayed_send(self, 300ms, settle_atom::value, ++self->state.generation);
    },
    [=](settle_atom, uint64_t generation) {
      if (generation == self->state.generation)
        settle(self);
    },
    [=](crust::message& x) {
      auto n = sizeof(protocol_prefix) - 1;
      if (x.payload.size() < n || std::memcmp(x.payload.data(), protocol_prefix, n) != 0) {
        // Not our protocol: cut this peer off for the rest of the session.
        self->state.blacklisted.insert(x.peer);
        self->send(self->state.node,
                   crust::blacklist{crust::blacklist_entry{crust::blacklist_kind::peer, x.peer, "", 0}});
        self->delayed_send(self, 300ms, settle_atom::value, ++self->state.generation);
      }
    },
    [](crust::listening&) {},
    [](crust::alert&) {},
    [](crust::connect_failed&) {},
    [](crust::send_failed&) {},
    [](crust::peer_discovered&) {},
    [](crust::bootstrap_status&) {},
    [](crust::connection_info_prepared&) {},
    [](crust::traversal_failed&) {},
  };
}

struct node_handle {
  crust::identity id = crust::identity::generate();
  xor_routing_actor routing;
  crust::node_actor node;
  crust::endpoint ep;
};

std::vector<crust::peer_info> peers_of(caf::scoped_actor& self, const crust::node_actor& node) {
  std::vector<crust::peer_info> result;
  self->request(node, 5s, crust::peers_atom::value)
    .receive([&](std::vector<crust::peer_info>& xs) { result = std::move(xs); },
             [&](caf::error&) {});
  return result;
}

} // namespace

int main(int argc, char** argv) {
  size_t nodes = 6, keep = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--nodes") == 0)
      nodes = std::stoul(argv[i + 1]);
    else if (std::strcmp(argv[i], "--keep") == 0)
      keep = std::stoul(argv[i + 1]);
  }
  caf::actor_system_config cfg;
  crust::tune_scheduler(cfg);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  crust::node_config nc;
  nc.listen_address = "127.0.0.1";
  // Every node dials every other itself here, so the check below knows
  // exactly who met whom. With bootstrap lists and gossip on (the default),
  // the rogue would also be introduced to nodes it never wronged.
  nc.discovery.ask_bootstrap_list = false;
  nc.discovery.gossip = false;
  std::vector<node_handle> swarm(nodes + 1); // the last one misbehaves
  for (auto& n : swarm) {
    n.routing = sys.spawn(xor_routing, n.id.id(), keep);
    n.node = crust::spawn_node(sys, nc, n.id, n.routing);
    caf::anon_send(n.routing, n.node);
    for (int i = 0; i < 200 && n.ep.port == 0; ++i) {
      self->request(n.node, 5s, crust::info_atom::value)
        .receive([&](const crust::node_info& x) {
                   if (!x.listening.empty())
                     n.ep = x.listening[0];
                 },
                 [](caf::error&) {});
      std::this_thread::sleep_for(10ms);
    }
  }
  auto& rogue = swarm.back();
  std::printf("%zu nodes keep their %zu closest peers; 1 rogue node\n", nodes, keep);
  // Every good node dials every other good node (many dial each other at once).
  for (size_t i = 0; i < nodes; ++i)
    for (size_t j = 0; j < nodes; ++j)
      if (i != j)
        caf::anon_send(swarm[i].node, crust::connect{swarm[j].ep});
  // The rogue dials node 0 and speaks garbage.
  caf::anon_send(rogue.node, crust::connect{swarm[0].ep});
  std::this_thread::sleep_for(1s);
  caf::anon_send(rogue.node, crust::send{swarm[0].id.id(), crust::bytes{'?', '?'}, 1});
  std::this_thread::sleep_for(1500ms);
  // The policy is eventually consistent: wait (bounded) until every node
  // holds exactly its closest peers, then report the final state.
  auto check = [&](bool print) {
    bool ok = true;
    for (size_t i = 0; i < nodes; ++i) {
      std::vector<crust::peer_id> others;
      for (size_t j = 0; j < nodes; ++j)
        if (j != i)
          others.push_back(swarm[j].id.id());
      auto want = closest(swarm[i].id.id(), others, keep);
      std::set<crust::peer_id> maintained;
      size_t outbound_others = 0;
      auto peers = peers_of(self, swarm[i].node);
      for (auto& p : peers) {
        if (p.maintained)
          maintained.insert(p.peer);
        else if (p.dir == crust::direction::outbound)
          ++outbound_others;
      }
      bool good = maintained == want && outbound_others == 0
                  && std::all_of(want.begin(), want.end(), [&](auto& w) {
                       return std::any_of(peers.begin(), peers.end(),
                                          [&](auto& p) { return p.peer == w; });
                     });
      ok = ok && good;
      if (!print)
        continue;
      std::printf("  node %zu (%s): %zu connections, maintains %zu closest %s\n", i,
                  crust::short_string(swarm[i].id.id()).c_str(), peers.size(), maintained.size(),
                  good ? "as chosen" : "WRONG");
      if (!good)
        for (auto& p : peers)
          std::printf("    peer %s %s%s%s\n", crust::short_string(p.peer).c_str(),
                      to_string(p.dir).c_str(), p.maintained ? " maintained" : "",
                      want.count(p.peer) ? " (closest)" : "");
    }
    return ok;
  };
  auto waited = 0ms;
  while (!check(false) && waited < 10s) {
    std::this_thread::sleep_for(100ms);
    waited += 100ms;
  }
  bool ok = check(true);
  std::printf("  settled after %.1fs more\n", std::chrono::duration<double>(waited).count());
  auto rogue_links = peers_of(self, swarm[0].node);
  bool rogue_gone = std::none_of(rogue_links.begin(), rogue_links.end(),
                                 [&](auto& p) { return p.peer == rogue.id.id(); });
  // Blacklisted by peer id: a new dial is refused right after the handshake.
  caf::anon_send(rogue.node, crust::connect{swarm[0].ep});
  std::this_thread::sleep_for(500ms);
  rogue_links = peers_of(self, swarm[0].node);
  rogue_gone = rogue_gone && std::none_of(rogue_links.begin(), rogue_links.end(),
                                          [&](auto& p) { return p.peer == rogue.id.id(); });
  std::printf("  rogue %s: %s\n", crust::short_string(rogue.id.id()).c_str(),
              rogue_gone ? "blacklisted by node 0 and refused again" : "STILL CONNECTED");
  ok = ok && rogue_gone;
  for (auto& n : swarm)
    caf::anon_send_exit(n.routing, caf::exit_reason::user_shutdown);
  std::printf("%s\n", ok ? "1 passed, 0 failed" : "0 passed, 1 failed");
  return ok ? 0 : 1;
}
