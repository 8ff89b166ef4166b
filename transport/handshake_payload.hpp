#pragma once

#include "messages/bytes.hpp"
#include "messages/ec.hpp"
#include "messages/endpoint.hpp"
#include "messages/node_role.hpp"
#include "messages/peer_id.hpp"
#include "transport/identity.hpp"
#include "transport/noise/constants.hpp"

#include <optional>
#include <string>

namespace crust {

/// The wire protocol version this implementation speaks.
constexpr uint8_t protocol_version = 1;

/// The Noise protocol every crust stream runs.
constexpr const char* noise_pattern = "XX";

/// A responder that does not speak the initiator's version answers message 1
/// with a 2-byte frame in the clear, `version_reject_marker | its version`,
/// and closes. No Noise message is that short, so it cannot be mistaken.
constexpr uint8_t version_reject_marker = 0xff;
constexpr size_t version_reject_size = 2;

/// A side that gives a handshake up itself (its dial lost a race, the node
/// stops, the routing layer dropped the peer) says so with a 2-byte frame in
/// the clear, `handshake_abort_marker | reason (ec)`, and closes: the other
/// side ends its half with that reason at once instead of taking the closed
/// stream for a failed handshake. A responder that refuses a connection
/// before any cryptography (a limit, the rate, the blacklist, shutting down)
/// sends the same frame first, with `| retry_after_ms u32` appended (6 bytes)
/// when it can say when to come back.
constexpr uint8_t handshake_abort_marker = 0xfe;
constexpr size_t handshake_abort_size = 2;
constexpr size_t handshake_refusal_size = 6;

/// A handshake abort frame, length prefix included (docs/PROTOCOL.md §3.5):
/// 2 bytes of body, or 6 with a retry-after.
bytes handshake_abort_frame(ec reason, uint32_t retry_after_ms = 0);

/// Reads a handshake abort body: true and the reason and retry-after
/// (0: none) when `body` is one.
bool read_handshake_abort(const uint8_t* body, size_t len, ec& reason, uint32_t& retry_after_ms);

/// The largest handshake message we accept: far below Noise's 65535, so an
/// unauthenticated peer cannot make us buffer much.
constexpr size_t max_handshake_message = 1024;

/// The prologue both sides mix into the handshake: "crust", the protocol
/// version, the length of the network name and the name. Peers of different
/// networks or versions fail the handshake at the first encrypted payload.
bytes make_prologue(const std::string& network);

/// What each side proves about itself in its encrypted handshake payload.
struct handshake_payload {
  node_role role = node_role::node;
  peer_id identity_key;
  identity::signature signature{}; ///< over `static_key_binding(noise static key)`
  uint16_t listen_port = 0;        ///< our TCP listening port; 0 when not listening
  std::optional<endpoint> observed; ///< where we see the peer connecting from (TCP)
  uint32_t features = 0;           ///< feature bits (feature_services, ...)
};

/// The byte string a node signs to bind its identity to its Noise static key.
bytes static_key_binding(const noise::public_key& static_key);

/// Our payload: identity key and its signature over our Noise static key.
/// Feature bit: the node understands service items (bootstrap lists, gossip).
constexpr uint32_t feature_services = 1;
/// Feature bit: this connection is a reachability probe (a dial-back a peer
/// asked for, PROTOCOL.md §9.5): it ends right after the handshake and is
/// never a link.
constexpr uint32_t feature_probe = 2;

/// Feature bit: the sender may run transport frames with AES-256-GCM (it
/// has AES instructions and allows it). When both ends announce it, both
/// switch their transport ciphers to AESGCM (PROTOCOL.md §3.4).
constexpr uint32_t feature_aesgcm = 4;

/// The feature bits our payload announces: a probe's say so; AES-256-GCM
/// when we offer it.
constexpr uint32_t our_features(bool probe, bool aesgcm = false) {
  return feature_services | (probe ? feature_probe : 0) | (aesgcm ? feature_aesgcm : 0);
}

handshake_payload make_payload(const identity& self, const noise::public_key& static_key,
                               node_role role, uint16_t listen_port,
                               std::optional<endpoint> observed = std::nullopt,
                               uint32_t features = feature_services);

/// The same from a signature made before (`static_credential`): no signing.
handshake_payload make_payload(const peer_id& self, const identity::signature& binding_signature,
                               node_role role, uint16_t listen_port,
                               std::optional<endpoint> observed = std::nullopt,
                               uint32_t features = feature_services);

/// Layout: version u8 | role u8 | identity key [32] | signature [64] | then
/// extensions, each tag u8 | length u16 BE | value. Tag 1: listen port (u16).
/// Tag 2: observed address: family u8 (4 or 6) | address [4 or 16] | port u16.
/// Tag 3: feature bits (u32). Unknown tags are skipped, so later versions can
/// add fields.
bytes encode_payload(const handshake_payload& x);

/// Parses and checks a peer's payload against the Noise static key the
/// handshake authenticated. Fails with `bad_identity` on any malformation or
/// a bad signature.
ec decode_and_verify_payload(const uint8_t* data, size_t len,
                             const noise::public_key& remote_static,
                             handshake_payload& out);

} // namespace crust
