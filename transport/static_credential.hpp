#pragma once

#include "messages/peer_id.hpp"
#include "transport/identity.hpp"
#include "transport/noise/constants.hpp"

#include <memory>

namespace crust {

/// A node's Noise static key pair and its identity's signature over the key
/// (`static_key_binding`), which every handshake payload carries. Made once
/// per node and shared by its sessions, so a handshake spends neither a key
/// generation nor a signature on them: both were on its critical path.
/// Forward secrecy rests on the ephemeral keys, fresh per handshake (XX's ee,
/// es and se all involve one), not on the static key.
struct static_credential {
  peer_id owner;   ///< the identity that signed
  noise::keypair keys;
  identity::signature signature{};

  /// A fresh static key pair for `self`, signed.
  static std::shared_ptr<const static_credential> make(const identity& self);

  /// `keys` for `self`, signed (fixed keys: published test vectors).
  static std::shared_ptr<const static_credential> make(const identity& self,
                                                       const noise::keypair& keys);
};

} // namespace crust
