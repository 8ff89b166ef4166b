#pragma once

#include "messages/bytes.hpp"
#include "messages/ec.hpp"
#include "messages/peer_record.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace crust {

/// Gossip messages (service `gossip`):  ttl u8 | count u8 (1..16) | records.
constexpr size_t max_gossip_records = 16;

bytes encode_gossip(uint8_t ttl, const std::vector<peer_record>& records);

/// Rejects the whole message (`malformed_frame` or `bad_record`) if any
/// record does not parse or verify for `network`, or bytes trail.
ec decode_gossip(const bytes& body, const std::string& network, uint8_t& ttl,
                 std::vector<peer_record>& out);

/// The records gossip knows, sans-I/O: one per peer (the newest), capped,
/// forgotten after they expire.
class gossip_table {
public:
  enum class verdict {
    fresh,   ///< new or newer than what we had: stored, worth forwarding
    known,   ///< we have this one or a newer one
    expired, ///< past its expiry
    own,     ///< about ourselves: never taken from others
  };

  gossip_table(const peer_id& self, size_t capacity) : self_(self), capacity_(capacity) {}

  verdict offer(const peer_record& x, uint64_t now_unix);

  /// Up to `n` records, newest first.
  std::vector<peer_record> newest(size_t n) const;

  void expire(uint64_t now_unix);

  const peer_record* find(const peer_id& peer) const;
  size_t size() const { return records_.size(); }

private:
  peer_id self_;
  size_t capacity_;
  std::map<peer_id, peer_record> records_;
};

} // namespace crust
