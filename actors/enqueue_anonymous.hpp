#pragma once

#include <caf/actor_cast.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>

#include <utility>

namespace crust {

/// Enqueues `x` at `to` as `self->send(to, x)` does (same order, and `to`
/// runs next on `self`'s worker when idle), but with no sender: a sender is
/// a reference count on `self` taken here and dropped on `to`'s thread, a
/// cache line moved between cores at every message. Only for messages that
/// get no reply. `to` must be valid.
template <class Handle, class T>
void enqueue_anonymous(caf::scheduled_actor* self, const Handle& to, T&& x) {
  caf::actor_cast<caf::abstract_actor*>(to)->enqueue(
    caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, std::forward<T>(x)),
    self->context());
}

} // namespace crust
