// Blacklist matching by peer, address and subnet, IPv4 and IPv6.
#define CAF_SUITE actors.blacklist
#include <caf/test/unit_test.hpp>

#include "actors/blacklist.hpp"

using namespace crust;

namespace {

blacklist_entry subnet(const std::string& addr, uint8_t len) {
  return blacklist_entry{blacklist_kind::subnet, {}, addr, len};
}

} // namespace

CAF_TEST(addresses and subnets match) {
  address_blacklist b;
  CAF_CHECK(!b.add(blacklist_entry{blacklist_kind::address, {}, "192.0.2.7", 0}));
  CAF_CHECK(!b.add(subnet("198.51.100.0", 24)));
  CAF_CHECK(!b.add(subnet("2001:db8::", 32)));
  CAF_CHECK(b.blocks_address("192.0.2.7"));
  CAF_CHECK(b.blocks_address("::ffff:192.0.2.7")); // seen on a dual-stack socket
  CAF_CHECK(!b.blocks_address("192.0.2.8"));
  CAF_CHECK(b.blocks_address("198.51.100.200"));
  CAF_CHECK(!b.blocks_address("198.51.101.1"));
  CAF_CHECK(b.blocks_address("2001:db8:1::5"));
  CAF_CHECK(!b.blocks_address("2001:db9::5"));
  CAF_CHECK(!b.blocks_address("not an address"));
}

CAF_TEST(peers match by id only) {
  address_blacklist b;
  peer_id p;
  p.key[3] = 9;
  CAF_CHECK(!b.add(blacklist_entry{blacklist_kind::peer, p, "", 0}));
  CAF_CHECK(b.blocks_peer(p));
  CAF_CHECK(!b.blocks_peer(peer_id{}));
  CAF_CHECK(!b.blocks_address("192.0.2.1"));
}

CAF_TEST(malformed entries are refused with a reason) {
  address_blacklist b;
  CAF_CHECK(b.add(subnet("10.0.0.0", 33)).has_value());
  CAF_CHECK(b.add(blacklist_entry{blacklist_kind::address, {}, "10.0.0", 0}).has_value());
  CAF_CHECK(b.add(blacklist_entry{blacklist_kind::peer, {}, "", 0}).has_value());
  CAF_CHECK(b.entries().empty());
}
