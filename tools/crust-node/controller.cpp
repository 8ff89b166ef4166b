#include "controller.hpp"

#include "control_protocol.hpp"

#include <caf/event_based_actor.hpp>

#include <cstdio>

namespace crust {

namespace {

using json = nlohmann::json;

void emit(controller_pointer self, json j, const json& id = nullptr) {
  if (!id.is_null())
    j["id"] = id;
  self->state.emit(j.dump());
}

void stop(controller_pointer self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  if (st.node)
    self->send(st.node, shutdown_atom::value);
  else
    self->quit();
}

/// Runs one parsed command against the node.
struct dispatcher {
  controller_pointer self;
  json id;

  void operator()(crust::connect& x) { self->send(self->state.node, std::move(x)); }
  void operator()(crust::maintain& x) { self->send(self->state.node, std::move(x)); }
  void operator()(crust::drop& x) { self->send(self->state.node, std::move(x)); }
  void operator()(crust::blacklist& x) {
    if (self->state.policy && x.entry.kind == blacklist_kind::peer)
      self->state.policy->blacklisted(x.entry.peer);
    self->send(self->state.node, std::move(x));
  }
  void operator()(crust::connect_via& x) { self->send(self->state.node, std::move(x)); }
  void operator()(crust::prepare_connection_info& x) { self->send(self->state.node, x); }
  void operator()(crust::connect_with_info& x) { self->send(self->state.node, std::move(x)); }
  void operator()(control::nat_request&) { ask<nat_status>(nat_atom::value, "nat"); }
  void operator()(control::send_request& x) {
    for (uint64_t i = 0; i < x.count; ++i)
      self->send(self->state.node,
                 crust::send{x.msg.peer, control::numbered_payload(x.msg.payload, i, x.count),
                             x.msg.priority});
  }
  /// Asks the node `Atom` and emits its answer (of type `Reply`) as JSON.
  template <class Reply, class Atom>
  void ask(Atom atom, const char* what) {
    auto s = self;
    auto i = id;
    self->request(self->state.node, std::chrono::seconds(5), atom)
      .then([s, i](const Reply& x) { emit(s, control::to_json(x), i); },
            [s, i, what](caf::error& err) {
              emit(s, control::error_event(std::string(what) + ": " + s->system().render(err)), i);
            });
  }
  void operator()(control::peers_request&) {
    ask<std::vector<peer_info>>(peers_atom::value, "peers");
  }
  void operator()(control::info_request&) { ask<node_info>(info_atom::value, "info"); }
  void operator()(control::stats_request&) { ask<node_stats>(stats_atom::value, "stats"); }
  void operator()(control::bootstrap_request&) {
    ask<std::vector<bootstrap_entry>>(bootstrap_list_atom::value, "bootstrap");
  }
  void operator()(control::listen_request&) {
    self->send(self->state.node, start_listening_atom::value);
  }
  void operator()(control::unlisten_request&) {
    self->send(self->state.node, stop_listening_atom::value);
  }
  void operator()(control::quit_request&) { stop(self); }
  void operator()(control::bootstrap_start_request&) {
    self->send(self->state.node, start_bootstrap_atom::value);
  }
  void operator()(control::bootstrap_stop_request&) {
    self->send(self->state.node, stop_bootstrap_atom::value);
  }
};

void run_policy(controller_pointer self) {
  auto& st = self->state;
  if (!st.policy || !st.node || st.stopping)
    return;
  for (auto& a : st.policy->settle(std::chrono::steady_clock::now())) {
    switch (a.what) {
      case xor_policy::action::kind::maintain: self->send(st.node, maintain{a.peer}); break;
      case xor_policy::action::kind::connect: self->send(st.node, connect{a.remote}); break;
      case xor_policy::action::kind::drop: self->send(st.node, drop{a.peer}); break;
    }
  }
  size_t up = 0;
  for (auto& p : st.policy->chosen())
    up += st.policy->is_connected(p) ? 1 : 0;
  if (up != st.last_chosen_up) {
    st.last_chosen_up = up;
    emit(self, json{{"event", "routing"},
                    {"chosen", st.policy->chosen().size()},
                    {"chosen_connected", up},
                    {"connected", st.policy->connected()},
                    {"known", st.policy->known()}});
  }
}

/// Takes a snapshot of the node (stats, then NAT status when it has
/// traversal) and publishes it on the board.
void refresh_status(controller_pointer self) {
  auto& st = self->state;
  if (!st.board || !st.node || st.stopping)
    return;
  auto publish = [self](std::optional<nat_status> nat) {
    auto& st = self->state;
    st.snapshot.nat = std::move(nat);
    observe_rtts(st.snapshot);
    st.board->publish(render_status(st.snapshot));
  };
  self->request(st.node, std::chrono::seconds(2), stats_atom::value)
    .then(
      [self, publish](node_stats& s) {
        self->state.snapshot.stats = std::move(s);
        self->request(self->state.node, std::chrono::seconds(2), nat_atom::value)
          .then([publish](nat_status& n) { publish(std::move(n)); },
                [publish](caf::error&) { publish(std::nullopt); });
      },
      [](caf::error&) {}); // the next tick tries again
}

} // namespace

controller_actor::behavior_type controller(controller_pointer self,
                                           std::function<void(const std::string&)> out,
                                           std::optional<xor_policy> policy,
                                           std::optional<status_config> status) {
  self->state.emit = std::move(out);
  self->state.policy = std::move(policy);
  if (self->state.policy)
    self->delayed_send(self, policy_interval, policy_tick_atom::value);
  if (status && status->board) {
    self->state.board = status->board;
    self->state.snapshot.id = status->id;
    self->state.snapshot.version = status->version;
    self->state.board->publish(render_status(self->state.snapshot));
    self->send(self, status_tick_atom::value);
  }
  self->set_down_handler([self](const caf::down_msg& x) {
    if (self->state.node && x.source == self->state.node.address()) {
      emit(self, json{{"event", "stopped"}});
      self->quit();
    }
  });
  return {
    [self](connection_up& x) {
      if (self->state.policy)
        self->state.policy->up(x.peer, x.dir, x.dialled);
      emit(self, control::to_json(x));
    },
    [self](connection_down& x) {
      if (self->state.policy)
        self->state.policy->down(x.peer);
      emit(self, control::to_json(x));
    },
    [self](path_changed& x) { emit(self, control::to_json(x)); },
    [self](message& x) { emit(self, control::to_json(x)); },
    [self](listening& x) { emit(self, control::to_json(x)); },
    [self](alert& x) {
      if (self->state.board)
        self->state.snapshot.alerts[x.kind] += x.count;
      emit(self, control::to_json(x));
    },
    [self](connect_failed& x) { emit(self, control::to_json(x)); },
    [self](send_failed& x) { emit(self, control::to_json(x)); },
    [self](peer_discovered& x) {
      if (self->state.policy)
        self->state.policy->learned(x.peer, x.endpoints);
      emit(self, control::to_json(x));
    },
    [self](bootstrap_status& x) {
      self->state.snapshot.bootstrap = x.state;
      emit(self, control::to_json(x));
    },
    [self](connection_info_prepared& x) { emit(self, control::to_json(x)); },
    [self](traversal_failed& x) { emit(self, control::to_json(x)); },
    [self](control_line& x) {
      if (self->state.stopping)
        return;
      auto parsed = control::parse_command(x.text);
      if (auto err = std::get_if<std::string>(&parsed)) {
        emit(self, control::error_event(*err));
        return;
      }
      auto& cmd = std::get<control::command>(parsed);
      std::visit(dispatcher{self, cmd.id}, cmd.body);
    },
    [self](input_closed) { stop(self); },
    [self](reload_request& x) {
      // Said on stderr too: as a service, that is the journal.
      if (!x.plan || !self->state.node) {
        auto why = x.plan ? std::string{"the node is not up yet"} : x.error;
        std::fprintf(stderr, "crust-node: reload refused, the node keeps its settings: %s\n",
                     why.c_str());
        emit(self, json{{"event", "reload"}, {"ok", false}, {"error", why}});
        return;
      }
      auto plan = x.plan;
      self->request(self->state.node, std::chrono::seconds(5), plan->live)
        .then(
          [self, plan](std::vector<std::string>& applied) {
            for (auto& e : plan->blacklist_added)
              self->send(self->state.node, blacklist{e});
            if (!plan->blacklist_added.empty())
              applied.emplace_back("blacklist");
            auto list = [](const std::vector<std::string>& xs) {
              std::string out;
              for (auto& x : xs)
                out += (out.empty() ? "" : ", ") + x;
              return out.empty() ? std::string{"nothing"} : out;
            };
            std::fprintf(stderr, "crust-node: reload: applied %s; needs a restart: %s\n",
                         list(applied).c_str(), list(plan->restart).c_str());
            emit(self, json{{"event", "reload"},
                            {"ok", true},
                            {"applied", applied},
                            {"needs_restart", plan->restart}});
          },
          [self](caf::error& err) {
            auto why = self->system().render(err);
            std::fprintf(stderr, "crust-node: reload refused by the node: %s\n", why.c_str());
            emit(self, json{{"event", "reload"}, {"ok", false}, {"error", why}});
          });
    },
    [self](status_tick_atom) {
      refresh_status(self);
      if (!self->state.stopping)
        self->delayed_send(self, status_interval, status_tick_atom::value);
    },
    [self](policy_tick_atom) {
      run_policy(self);
      if (!self->state.stopping)
        self->delayed_send(self, policy_interval, policy_tick_atom::value);
    },
    [self](node_actor& node) {
      self->state.node = node;
      self->monitor(node);
      if (self->state.stopping)
        self->send(node, shutdown_atom::value);
    },
  };
}

} // namespace crust
