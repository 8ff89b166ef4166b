#pragma once

// One STUN Binding transaction over UDP, sans-I/O: the request to send, when
// to send it again (RFC 8489 §6.2.1: the interval doubles from the initial
// RTO), and the outcome once a matching response arrives or all tries are
// spent.

#include "messages/endpoint.hpp"
#include "nat/stun_message.hpp"

#include <chrono>
#include <optional>

namespace crust {

class stun_transaction {
public:
  using clock = std::chrono::steady_clock;

  enum class state { pending, done, failed };

  stun_transaction(endpoint server, clock::time_point now,
                   std::chrono::milliseconds rto = std::chrono::milliseconds(250),
                   int max_sends = 5);

  const endpoint& server() const { return server_; }
  const stun::transaction_id& tid() const { return tid_; }
  state current() const { return state_; }
  const std::optional<endpoint>& mapped() const { return mapped_; }
  /// The server's RFC 5780 alternate address, when it has one.
  const std::optional<endpoint>& other_address() const { return other_; }
  std::string failure() const { return failure_; }

  /// The request to (re)send.
  const bytes& request() const { return request_; }

  /// When `poll` wants to run next (nothing once done or failed).
  std::optional<clock::time_point> deadline() const;

  /// True when the request is due for sending now; after the last try's
  /// wait it fails the transaction.
  bool poll(clock::time_point now);

  /// Feeds a parsed message; true if it belonged to this transaction.
  bool on_message(const stun::message& m);

private:
  endpoint server_;
  stun::transaction_id tid_;
  bytes request_;
  std::chrono::milliseconds rto_;
  int max_sends_;
  int sent_ = 0;
  clock::time_point next_;
  state state_ = state::pending;
  std::optional<endpoint> mapped_;
  std::optional<endpoint> other_;
  std::string failure_;
};

} // namespace crust
