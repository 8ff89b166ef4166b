// Fuzzes what discovery reads from the network: beacons, gossip messages,
// bootstrap lists and signed peer records.
#include "discovery/beacon_packet.hpp"
#include "discovery/bootstrap_list.hpp"
#include "discovery/gossip_table.hpp"
#include "discovery/peer_record_codec.hpp"

#include <sodium.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = sodium_init() >= 0;
  if (!ready)
    return 0;
  crust::beacon_packet b;
  (void) crust::decode_beacon(data, size, "crust", b);
  crust::bytes body(data, data + size);
  uint8_t ttl = 0;
  std::vector<crust::peer_record> records;
  (void) crust::decode_gossip(body, "crust", ttl, records);
  std::vector<crust::bootstrap_entry> entries;
  (void) crust::decode_bootstrap_list(body, entries);
  crust::wire::reader in{data, size};
  crust::peer_record r;
  (void) crust::decode_peer_record(in, "crust", r);
  return 0;
}
