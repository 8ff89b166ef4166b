#include "actors/acceptor.hpp"

#include "transport/tcp_stream.hpp"

#include <caf/send.hpp>

namespace crust {

acceptor_actor::behavior_type acceptor(acceptor_pointer self, std::shared_ptr<io_runtime> runtime,
                                       manager_actor manager, std::string address,
                                       uint16_t port, bool fallback, bool share_port) {
  auto& st = self->state;
  st.runtime = std::move(runtime);
  st.manager = manager;
  auto opened = tcp_listener::open(st.runtime->context(), address, port, fallback, share_port);
  if (auto what = std::get_if<std::string>(&opened)) {
    self->send(manager, listen_failed{*what});
    self->quit();
    return {[](incoming_stream&) {}};
  }
  st.listener = std::get<std::shared_ptr<tcp_listener>>(std::move(opened));
  self->send(manager, listening{{st.listener->local_endpoint()}});
  caf::weak_actor_ptr weak = self->ctrl();
  // Weak: the listener (and this callback) lives on the runtime's loop.
  std::weak_ptr<io_runtime> loop = st.runtime;
  st.listener->start([weak, loop](std::shared_ptr<tcp_stream> stream) {
    auto strong = weak.lock();
    auto runtime = loop.lock();
    if (!strong || !runtime) {
      stream->close();
      return;
    }
    auto remote = stream->remote_endpoint();
    caf::anon_send(caf::actor_cast<acceptor_actor>(strong),
                   incoming_stream{std::move(runtime), std::move(stream), std::move(remote)});
  });
  return {
    [self](incoming_stream& x) { self->send(self->state.manager, std::move(x)); },
  };
}

} // namespace crust
