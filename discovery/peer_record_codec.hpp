#pragma once

// The signed peer record's wire format and checks.
//
//   record := version u8 (1) | peer (32) | seq u64 | expires u64 | n u8 (1..8)
//             | n × endpoint (transport/wire.hpp) | signature (64)
//
// The signature is Ed25519 by `peer` over
//   "crust-peer-record-v1" | len u8 | network | every record byte before it,
// so a record from one network is worthless in another.

#include "messages/ec.hpp"
#include "messages/peer_record.hpp"
#include "transport/wire.hpp"
#include "transport/identity.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace crust {

constexpr uint8_t peer_record_version = 1;
constexpr size_t max_record_endpoints = 8;

/// A record for `self` listing `endpoints` (at most 8 are kept), signed now.
peer_record make_peer_record(const identity& self, const std::string& network,
                             std::vector<endpoint> endpoints, uint64_t seq, uint64_t expires);

/// Our own record for what we listen on (wildcard addresses resolved to the
/// interfaces'), valid for `lifetime`; nothing when we do not listen.
std::optional<peer_record> own_record(const identity& self, const std::string& network,
                                      const std::vector<endpoint>& listening,
                                      std::chrono::seconds lifetime);

/// Re-signs our record (same endpoints, new seq and expiry) once half its
/// lifetime is gone.
void refresh_own_record(std::optional<peer_record>& record, const identity& self,
                        const std::string& network, std::chrono::seconds lifetime);

/// Clocks records use: Unix seconds and milliseconds.
uint64_t unix_seconds();
uint64_t unix_millis();

/// Appends the record's wire form.
void encode_peer_record(bytes& out, const peer_record& x);

/// Reads one record: `malformed_frame` when it does not parse, `bad_record`
/// when the signature does not verify for `network` or an endpoint is not
/// dialable.
ec decode_peer_record(wire::reader& in, const std::string& network, peer_record& out);

} // namespace crust
