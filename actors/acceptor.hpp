#pragma once

#include "actors/internal_messages.hpp"
#include "transport/io_runtime.hpp"
#include "transport/tcp_listener.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <string>

namespace crust {

struct acceptor_state {
  // Declared first, destroyed last: the listener lives on the runtime's loop.
  std::shared_ptr<io_runtime> runtime;
  std::shared_ptr<tcp_listener> listener;
  manager_actor manager;

  ~acceptor_state() {
    if (listener)
      listener->close();
  }

  static inline const char* name = "crust.acceptor";
};

using acceptor_pointer = acceptor_actor::stateful_pointer<acceptor_state>;

/// Listens on `address:port` (a random port if that one is taken and
/// `fallback` is set) and reports `listening` to the manager, or
/// `listen_failed` and quits. Accepted sockets go to the manager; this is the
/// place for checks that must run before a connection costs anything.
/// `share_port`: our own dials may leave from the listening port (TCP
/// simultaneous open; see `tcp_listener::open`).
acceptor_actor::behavior_type acceptor(acceptor_pointer self, std::shared_ptr<io_runtime> runtime,
                                       manager_actor manager, std::string address,
                                       uint16_t port, bool fallback, bool share_port);

} // namespace crust
