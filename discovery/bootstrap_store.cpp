#include "discovery/bootstrap_store.hpp"

#include "discovery/bootstrap_list.hpp"
#include "discovery/cache_file.hpp"

#include <caf/send.hpp>

#include <ctime>
#include <random>

namespace crust {

namespace {

/// A peer gets our list at most this often.
constexpr auto answer_interval = std::chrono::seconds(10);

constexpr auto tick_interval = std::chrono::milliseconds(500);

int64_t unix_now() {
  return static_cast<int64_t>(std::time(nullptr));
}

void report(bootstrap_store_pointer self, bool always) {
  auto& st = self->state;
  if (!st.plan)
    return;
  auto status = st.plan->status(std::chrono::steady_clock::now());
  if (!always && st.reported == status.state)
    return;
  st.reported = status.state;
  CRUST_LOG(st.log, info, nullptr, "bootstrap",
            to_string(status.state) << ": " << status.connected << " connected, " << status.tried
                                    << " tried, " << status.remaining << " left");
  self->send(st.routing, status);
}

void pump(bootstrap_store_pointer self) {
  auto& st = self->state;
  if (!st.plan)
    return;
  auto dials = st.plan->next_dials(std::chrono::steady_clock::now());
  for (auto& ep : dials) {
    CRUST_LOG(st.log, debug, nullptr, "bootstrap", "trying " << to_string(ep));
    self->send(st.host, connect{ep});
  }
  report(self, !dials.empty());
}

void schedule_save(bootstrap_store_pointer self) {
  auto& st = self->state;
  st.dirty = true;
  if (st.save_scheduled || !st.writer)
    return;
  st.save_scheduled = true;
  self->delayed_send(self, st.cfg.cache_write_delay, store_save_atom::value);
}

void save_now(bootstrap_store_pointer self) {
  auto& st = self->state;
  st.save_scheduled = false;
  if (!st.dirty || !st.writer)
    return;
  st.dirty = false;
  self->send(*st.writer, cache_write_atom::value, st.cache.to_file(st.network));
}

void start_plan(bootstrap_store_pointer self) {
  auto& st = self->state;
  bootstrap_plan::config pc;
  pc.target = st.cfg.bootstrap_target;
  pc.parallel = st.cfg.bootstrap_parallel;
  pc.attempt_timeout = st.cfg.bootstrap_attempt_timeout;
  pc.backoff_min = st.cfg.bootstrap_backoff_min;
  pc.backoff_max = st.cfg.bootstrap_backoff_max;
  std::random_device rd;
  st.plan.emplace(pc, std::chrono::steady_clock::now(),
                  (static_cast<uint64_t>(rd()) << 32) ^ rd());
  if (st.stopped)
    st.plan->stop();
  std::vector<bootstrap_plan::candidate> xs;
  for (auto& e : st.cache.entries())
    if (e.peer != st.self_id)
      xs.push_back({e.remote, e.peer});
  st.plan->add(xs, true);
  st.plan->add(st.early);
  st.early.clear();
  st.plan->add_fallbacks(st.cfg.fallback_contacts);
  for (auto& p : st.connected)
    st.plan->on_up(p, endpoint{}, std::chrono::steady_clock::now());
  report(self, true);
  pump(self);
}

void alert_routing(bootstrap_store_pointer self, alert_kind kind, ec reason,
                   const peer_id* peer, std::string detail) {
  auto& st = self->state;
  alert a;
  a.kind = kind;
  a.reason = reason;
  if (peer)
    a.peer = *peer;
  a.detail = std::move(detail);
  CRUST_LOG(st.log, warning, peer, "bootstrap", a.detail);
  self->send(st.routing, std::move(a));
}

void loaded(bootstrap_store_pointer self, int status, const std::string& text) {
  auto& st = self->state;
  if (status == 0) {
    size_t skipped = 0;
    auto parsed = bootstrap_cache::from_file(text, st.network, st.cfg.cache_capacity, skipped);
    if (auto cache = std::get_if<bootstrap_cache>(&parsed)) {
      st.cache = std::move(*cache);
      CRUST_LOG(st.log, info, nullptr, "bootstrap",
                "cache " << st.cfg.cache_path << ": " << st.cache.entries().size() << " entries");
      if (skipped > 0)
        alert_routing(self, alert_kind::bad_cache_file, ec::corrupt_file, nullptr,
                      "bootstrap cache " + st.cfg.cache_path + ": skipped "
                        + std::to_string(skipped) + " bad entries");
    } else {
      auto why = std::get<std::string>(parsed);
      // Keep the bad file for inspection and start empty.
      self->request(*st.writer, std::chrono::seconds(10), cache_aside_atom::value)
        .then(
          [self, why](const std::string& where) {
            alert_routing(self, alert_kind::bad_cache_file, ec::corrupt_file, nullptr,
                          "bootstrap cache " + self->state.cfg.cache_path + " is unusable ("
                            + why + "); kept as " + where + ", starting empty");
          },
          [](caf::error&) {});
    }
  } else if (status == 2) {
    alert_routing(self, alert_kind::bad_cache_file, ec::corrupt_file, nullptr,
                  "bootstrap cache: " + text + "; starting empty");
  }
  start_plan(self);
}

} // namespace

cache_writer_actor::behavior_type cache_writer(cache_writer_actor::pointer self, std::string path,
                                               logger_ptr log) {
  return {
    [path](cache_load_atom) -> std::tuple<int, std::string> {
      cache_file::remove_stale_temporaries(path);
      auto c = cache_file::read(path);
      switch (c.status) {
        case cache_file::contents::ok: return {0, std::move(c.text)};
        case cache_file::contents::missing: return {1, std::string{}};
        default: return {2, std::move(c.error)};
      }
    },
    [path, log](cache_write_atom, const std::string& text) {
      if (auto err = cache_file::write_atomically(path, text))
        CRUST_LOG(log, warning, nullptr, "bootstrap", "cache not saved: " << *err);
    },
    [path](cache_aside_atom) { return cache_file::set_aside(path); },
    [self](cache_stop_atom) { self->quit(); },
  };
}

bootstrap_store_impl::behavior_type
bootstrap_store(bootstrap_store_pointer self, discovery_config cfg, std::string network,
                peer_id self_id, discovery_host_actor host, routing_actor routing,
                logger_ptr log) {
  auto& st = self->state;
  st.cache = bootstrap_cache{cfg.cache_capacity};
  st.cfg = std::move(cfg);
  st.network = std::move(network);
  st.self_id = self_id;
  st.host = std::move(host);
  st.routing = std::move(routing);
  st.log = std::move(log);
  if (!st.cfg.cache_path.empty()) {
    st.writer = self->spawn<caf::detached>(cache_writer, st.cfg.cache_path, st.log);
    self->request(*st.writer, std::chrono::seconds(30), cache_load_atom::value)
      .then([self](int status, const std::string& text) { loaded(self, status, text); },
            [self](caf::error&) { loaded(self, 2, "cache file not read in time"); });
  } else {
    start_plan(self);
  }
  self->set_exit_handler([self](const caf::exit_msg& x) {
    auto& st = self->state;
    save_now(self);
    if (st.writer)
      self->send(*st.writer, cache_stop_atom::value);
    self->quit(x.reason);
  });
  self->delayed_send(self, tick_interval, store_tick_atom::value);
  return {
    [self](const connection_up& x) {
      auto& st = self->state;
      st.connected.insert(x.peer);
      // Only peers we reached on an endpoint we dialled are known to be
      // reachable there: those go into the cache, under the endpoint dialled
      // (a TCP endpoint whose dial UDP won stays a TCP endpoint: the next dial
      // races both again).
      auto at = x.dialled.port != 0 ? x.dialled : x.remote;
      if (x.dir == direction::outbound && x.path == path_kind::direct) {
        st.cache.record_success(at, x.peer, unix_now());
        schedule_save(self);
      }
      if (st.plan) {
        st.plan->on_up(x.peer, at, std::chrono::steady_clock::now());
        report(self, true);
        pump(self);
      }
      if (st.cfg.ask_bootstrap_list && x.role == node_role::node) {
        st.asked.insert(x.peer);
        self->send(st.host, service_out{x.peer, service_id::bootstrap_request, {}});
      }
    },
    [self](const connection_down& x) {
      auto& st = self->state;
      st.connected.erase(x.peer);
      st.asked.erase(x.peer);
      if (st.plan) {
        st.plan->on_down(x.peer, std::chrono::steady_clock::now());
        report(self, false);
      }
    },
    [self](const connect_failed& x) {
      auto& st = self->state;
      if (st.plan) {
        st.plan->on_failed(x.remote, std::chrono::steady_clock::now(),
                           std::chrono::milliseconds(x.retry_after_ms));
        pump(self); // reports a change of state
      }
    },
    [self](service_in& x) {
      auto& st = self->state;
      if (x.service == service_id::bootstrap_request) {
        if (!st.cfg.serve_bootstrap_list)
          return;
        auto now = std::chrono::steady_clock::now();
        auto& last = st.answered[x.peer];
        if (last != std::chrono::steady_clock::time_point{} && now - last < answer_interval)
          return; // rate-limited: one answer per peer per interval
        last = now;
        auto list = st.cache.serve(max_bootstrap_list + 1);
        list.erase(std::remove_if(list.begin(), list.end(),
                                  [&](const bootstrap_entry& e) { return e.peer == x.peer; }),
                   list.end());
        self->send(st.host, service_out{x.peer, service_id::bootstrap_response,
                                        encode_bootstrap_list(list)});
        return;
      }
      if (x.service != service_id::bootstrap_response)
        return;
      if (st.asked.erase(x.peer) == 0)
        return; // unsolicited: ignored
      std::vector<bootstrap_entry> list;
      if (auto err = decode_bootstrap_list(x.body, list); err != ec::none) {
        alert_routing(self, alert_kind::discovery_abuse, err, &x.peer,
                      "peer sent an invalid bootstrap list (" + std::to_string(x.body.size())
                        + " bytes)");
        return;
      }
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&](const bootstrap_entry& e) { return e.peer == st.self_id; }),
                 list.end());
      auto added = st.cache.add_learned(list);
      CRUST_LOG(st.log, debug, &x.peer, "bootstrap",
                "list of " << list.size() << " entries, " << added.size() << " new");
      if (!added.empty()) {
        schedule_save(self);
        for (auto& e : added)
          self->send(st.routing, peer_discovered{e.peer, {e.remote},
                                                 discovery_source::bootstrap_list});
        if (st.plan) {
          std::vector<bootstrap_plan::candidate> xs;
          for (auto& e : added)
            xs.push_back({e.remote, e.peer});
          st.plan->add(xs);
          pump(self);
        }
      }
    },
    [self](const peer_discovered& x) {
      auto& st = self->state;
      if (x.peer == st.self_id || st.connected.count(x.peer) > 0)
        return;
      std::vector<bootstrap_plan::candidate> xs;
      for (auto& ep : x.endpoints)
        xs.push_back({ep, x.peer});
      if (!st.plan) {
        st.early.insert(st.early.end(), xs.begin(), xs.end());
        return;
      }
      // Remembered for later rounds; dialled only while a round runs (at
      // the target, the routing layer decides whom to connect to).
      st.plan->add(xs);
      pump(self);
    },
    [self](bootstrap_list_atom) { return self->state.cache.entries(); },
    [self](store_tick_atom) {
      auto& st = self->state;
      if (st.plan) {
        st.plan->on_timeout(std::chrono::steady_clock::now());
        pump(self); // reports a change of state
      }
      self->delayed_send(self, tick_interval, store_tick_atom::value);
    },
    [self](store_save_atom) { save_now(self); },
    [self](start_bootstrap_atom) {
      auto& st = self->state;
      st.stopped = false;
      if (st.plan) {
        st.plan->start(std::chrono::steady_clock::now());
        pump(self);
        report(self, true);
      }
    },
    [self](stop_bootstrap_atom) {
      auto& st = self->state;
      st.stopped = true;
      if (st.plan) {
        st.plan->stop();
        report(self, true);
      }
    },
  };
}

} // namespace crust
