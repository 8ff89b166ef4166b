#pragma once

#include "messages/bytes.hpp"
#include "messages/direction.hpp"
#include "messages/ec.hpp"
#include "messages/endpoint.hpp"
#include "messages/node_role.hpp"
#include "messages/path_kind.hpp"
#include "messages/peer_id.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <deque>
#include <unordered_map>
#include <vector>

namespace crust {

/// The manager's bookkeeping, without actors: which connection serves each
/// peer, which peers the routing layer wants maintained, and what the
/// routing layer has been told. Every decision is a return value, so the
/// rules are tested directly.
///
/// One connection per peer: when two connections to the same peer complete
/// (both nodes dialled at once), both ends keep a link that needs no relay
/// over a relayed one; then the one whose initiator has the smaller peer
/// id, and among connections of one initiator the smaller handshake hash.
/// Both ends see the same paths, ids and hashes, so they agree without
/// talking.
class connection_table {
public:
  using conn_id = uint64_t;

  /// An authenticated connection.
  struct link {
    conn_id id = 0;
    endpoint remote;
    direction dir = direction::outbound;
    node_role role = node_role::node;
    uint16_t listen_port = 0;
    bytes handshake_hash;
    path_kind path = path_kind::direct;
    /// A TCP simultaneous open made the dialling side the handshake's
    /// responder: who began the handshake, not who dialled, breaks ties,
    /// as both sides dialled.
    bool role_swapped = false;
  };

  enum class verdict {
    admit,          ///< use it
    admit_replacing, ///< use it; close `replaced` as a duplicate
    reject,         ///< close it as a duplicate
  };

  struct admission {
    verdict outcome = verdict::admit;
    std::optional<conn_id> replaced;
    path_kind replaced_path = path_kind::direct; ///< the replaced link's path
    bool report_up = false; ///< tell the routing layer `connection_up`
  };

  struct closure {
    bool report_down = false;            ///< tell the routing layer `connection_down`
    std::optional<uint64_t> grace_token; ///< wait this long for a replacement first
    bool redial = false;                 ///< the peer is maintained: dial again
  };

  explicit connection_table(peer_id self) : self_(self) {
  }

  /// A connection to `peer` finished its handshake.
  admission on_handshake(const peer_id& peer, link l);

  /// An authenticated connection closed for `reason`.
  closure on_closed(const peer_id& peer, conn_id id, ec reason);

  /// The grace period for a replacement ran out: report down?
  closure on_grace_expired(const peer_id& peer, uint64_t token);

  /// Marks the peer maintained (or not). A peer is known while connected and,
  /// after it went away, as long as we know where it listens (the most
  /// recent `max_remembered` such peers). Maintaining an unknown peer does
  /// nothing: there is nowhere to dial.
  bool set_maintained(const peer_id& peer, bool maintained);

  /// Peers remembered after they went away, at most.
  static constexpr size_t max_remembered = 4096;

  /// Where to re-dial a maintained peer that is not connected, if known: the
  /// endpoint we dialled, or the peer's address with its advertised port.
  std::optional<endpoint> redial_target(const peer_id& peer) const;

  /// The delay before the next re-dial; doubles from `min` up to `max`.
  std::chrono::milliseconds next_redial_delay(const peer_id& peer,
                                              std::chrono::milliseconds min,
                                              std::chrono::milliseconds max);

  /// The connection serving `peer`, if any.
  const link* active(const peer_id& peer) const;

  bool maintained(const peer_id& peer) const;

  /// True while the peer's link closed as a duplicate and its replacement is
  /// awaited: sends to it should wait rather than fail.
  bool in_grace(const peer_id& peer) const;

  /// Every connected peer.
  std::vector<peer_id> connected() const;

  size_t size() const;

private:
  struct entry {
    std::optional<link> active;
    std::optional<endpoint> dial_target;
    bool maintained = false;
    bool reported_up = false;
    uint64_t grace_token = 0;
    std::chrono::milliseconds backoff{0};
  };

  /// True when `a` should be kept over `b`.
  bool wins(const peer_id& peer, const link& a, const link& b) const;
  void forget_if_idle(const peer_id& peer);

  peer_id self_;
  std::unordered_map<peer_id, entry> peers_;
  std::deque<peer_id> remembered_; ///< idle peers kept for re-dialling, oldest first
  uint64_t next_grace_token_ = 1;
};

} // namespace crust
