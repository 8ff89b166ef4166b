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

#include <string>
#include <vector>

namespace crust {

constexpr uint8_t peer_record_version = 1;
constexpr size_t max_record_endpoints = 8;

/// A record for `self` listing `endpoints` (at most 8 are kept), signed now.
peer_record make_peer_record(const identity& self, const std::string& network,
                             std::vector<endpoint> endpoints, uint64_t seq, uint64_t expires);

/// Appends the record's wire form.
void encode_peer_record(bytes& out, const peer_record& x);

/// Reads one record: `malformed_frame` when it does not parse, `bad_record`
/// when the signature does not verify for `network` or an endpoint is not
/// dialable.
ec decode_peer_record(wire::reader& in, const std::string& network, peer_record& out);

} // namespace crust
