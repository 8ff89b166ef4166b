// Two crust nodes embedded in one CAF program, built against the installed
// crust: one says hello, the other prints it. Exits 0 when it arrived.
#include "actors/node.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <future>
#include <iostream>
#include <memory>

namespace {

struct events {
  std::promise<crust::endpoint> listening;
  std::promise<void> up;
  std::promise<std::string> hello;
};

crust::routing_actor::behavior_type routing(crust::routing_actor::pointer,
                                            std::shared_ptr<events> ev) {
  auto once = std::make_shared<bool>(false);
  return {
    [=](crust::connection_up&) { if (!*once) { *once = true; ev->up.set_value(); } },
    [](crust::connection_down&) {},
    [](crust::path_changed&) {},
    [=](crust::message& x) { ev->hello.set_value(std::string(x.payload.begin(), x.payload.end())); },
    [=](crust::listening& x) {
      if (!x.endpoints.empty())
        ev->listening.set_value(x.endpoints[0]);
    },
    [](crust::alert&) {},
    [](crust::connect_failed&) {},
    [](crust::send_failed&) {},
    [](crust::peer_discovered&) {},
    [](crust::bootstrap_status&) {},
    [](crust::connection_info_prepared&) {},
    [](crust::traversal_failed&) {},
  };
}

} // namespace

int main() {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  crust::node_config nc;
  nc.listen_address = "127.0.0.1";
  auto a_ev = std::make_shared<events>();
  auto b_ev = std::make_shared<events>();
  auto a_id = crust::identity::generate();
  auto b_id = crust::identity::generate();
  auto a_routing = sys.spawn(routing, a_ev);
  auto b_routing = sys.spawn(routing, b_ev);
  auto a = crust::spawn_node(sys, nc, a_id, a_routing);
  crust::spawn_node(sys, nc, b_id, b_routing);
  auto b_ep = b_ev->listening.get_future().get();
  a_ev->listening.get_future().get();
  caf::anon_send(a, crust::connect{b_ep});
  auto up = a_ev->up.get_future();
  auto hello = b_ev->hello.get_future();
  bool ok = up.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (ok) {
    caf::anon_send(a, crust::send{b_id.id(), crust::bytes{'h', 'e', 'l', 'l', 'o'}, 1});
    ok = hello.wait_for(std::chrono::seconds(10)) == std::future_status::ready
         && hello.get() == "hello";
  }
  std::cout << (ok ? "consumer: hello arrived through the installed crust\n"
                   : "consumer: FAILED\n");
  caf::anon_send_exit(a_routing, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b_routing, caf::exit_reason::user_shutdown);
  return ok ? 0 : 1;
}
