// Discovery's wire formats: signed peer records, bootstrap lists, beacon
// datagrams and gossip messages. Every check a receiver makes is exercised:
// forgery, tampering, other networks, truncation, oversized counts,
// trailing bytes, undialable endpoints.
#define CAF_SUITE discovery.records
#include <caf/test/unit_test.hpp>

#include "discovery/beacon_packet.hpp"
#include "discovery/bootstrap_list.hpp"
#include "discovery/gossip_table.hpp"
#include "discovery/peer_record_codec.hpp"
#include "transport/address.hpp"

#include <sodium.h>

using namespace crust;

namespace {

endpoint ep(const char* text) {
  return *parse_endpoint(text);
}

struct fixture {
  fixture() {
    if (sodium_init() < 0)
      CAF_FAIL("libsodium failed to initialise");
  }
  identity alice = identity::generate();
  identity mallory = identity::generate();
};

ec decode(const bytes& b, const std::string& network, peer_record& out) {
  wire::reader in{b};
  auto err = decode_peer_record(in, network, out);
  if (err == ec::none && in.left() != 0)
    return ec::malformed_frame;
  return err;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(records, fixture)

CAF_TEST(a signed record round trips) {
  auto r = make_peer_record(alice, "crust", {ep("198.51.100.7:5483"), ep("[2001:db8::1]:5483")},
                            1234, 99999999999);
  bytes b;
  encode_peer_record(b, r);
  peer_record out;
  CAF_REQUIRE_EQUAL(decode(b, "crust", out), ec::none);
  CAF_CHECK_EQUAL(out.peer, alice.id());
  CAF_CHECK_EQUAL(out.endpoints.size(), 2u);
  CAF_CHECK_EQUAL(out.endpoints[0], ep("198.51.100.7:5483"));
  CAF_CHECK_EQUAL(out.endpoints[1], ep("[2001:db8::1]:5483"));
  CAF_CHECK_EQUAL(out.seq, 1234u);
}

CAF_TEST(nobody can issue or alter the record of another peer) {
  auto r = make_peer_record(alice, "crust", {ep("198.51.100.7:5483")}, 1, 99999999999);
  bytes b;
  encode_peer_record(b, r);
  peer_record out;
  // Tampered endpoint (last byte of the port).
  auto t = b;
  t[1 + 32 + 8 + 8 + 1 + 2 + 4 + 1] ^= 1;
  CAF_CHECK_EQUAL(decode(t, "crust", out), ec::bad_record);
  // Mallory signs a record that claims to be Alice.
  auto forged = make_peer_record(mallory, "crust", {ep("203.0.113.66:1")}, 2, 99999999999);
  forged.peer = alice.id();
  bytes f;
  encode_peer_record(f, forged);
  CAF_CHECK_EQUAL(decode(f, "crust", out), ec::bad_record);
  // A record is bound to its network.
  CAF_CHECK_EQUAL(decode(b, "other", out), ec::bad_record);
  // Every truncation is malformed, never a crash.
  for (size_t n = 0; n < b.size(); ++n) {
    bytes cut(b.begin(), b.begin() + static_cast<ptrdiff_t>(n));
    CAF_CHECK_EQUAL(decode(cut, "crust", out), ec::malformed_frame);
  }
}

CAF_TEST(records with undialable endpoints are refused) {
  for (auto bad : {"0.0.0.0:5483", "224.0.0.1:5483", "255.255.255.255:5483", "198.51.100.1:0"}) {
    auto r = make_peer_record(alice, "crust", {ep(bad)}, 1, 99999999999);
    bytes b;
    encode_peer_record(b, r);
    peer_record out;
    CAF_CHECK_EQUAL(decode(b, "crust", out), ec::bad_record);
  }
}

CAF_TEST(bootstrap lists are bounded and validated whole) {
  std::vector<bootstrap_entry> xs;
  for (int i = 1; i <= 40; ++i)
    xs.push_back({ep(("tcp://198.51.100." + std::to_string(i) + ":5483").c_str()),
                  identity::generate().id(), 0, true});
  auto b = encode_bootstrap_list(xs);
  std::vector<bootstrap_entry> out;
  CAF_REQUIRE_EQUAL(decode_bootstrap_list(b, out), ec::none);
  CAF_CHECK_EQUAL(out.size(), max_bootstrap_list); // capped when sent
  CAF_CHECK_EQUAL(out[0].remote, xs[0].remote);
  CAF_CHECK_EQUAL(out[0].peer, xs[0].peer);
  auto over = b;
  over[0] = 33;
  CAF_CHECK_EQUAL(decode_bootstrap_list(over, out), ec::bad_record);
  auto trailing = b;
  trailing.push_back(0);
  CAF_CHECK_EQUAL(decode_bootstrap_list(trailing, out), ec::bad_record);
  auto cut = b;
  cut.pop_back();
  CAF_CHECK_EQUAL(decode_bootstrap_list(cut, out), ec::bad_record);
  auto undialable = encode_bootstrap_list({{ep("0.0.0.0:5483"), alice.id(), 0, true}});
  CAF_CHECK_EQUAL(decode_bootstrap_list(undialable, out), ec::bad_record);
  CAF_CHECK_EQUAL(decode_bootstrap_list(bytes{}, out), ec::bad_record);
  CAF_CHECK_EQUAL(decode_bootstrap_list(bytes{0}, out), ec::none);
  CAF_CHECK(out.empty());
}

CAF_TEST(beacons are checked and can never amplify) {
  auto r = make_peer_record(alice, "crust", {ep("10.5.0.2:4000")}, 1, 99999999999);
  auto query = encode_beacon(beacon_packet{true, "crust", r});
  auto announce = encode_beacon(beacon_packet{false, "crust", r});
  CAF_CHECK_EQUAL(query.size(), beacon_query_size);
  CAF_CHECK_LESS(announce.size(), query.size());
  // The largest possible answer still fits under any query.
  std::vector<endpoint> many;
  for (int i = 0; i < 8; ++i)
    many.push_back(ep(("[2001:db8::" + std::to_string(i + 1) + "]:5483").c_str()));
  auto big = make_peer_record(alice, std::string(255, 'n'), many, 1, 99999999999);
  CAF_CHECK_LESS_OR_EQUAL(encode_beacon(beacon_packet{false, std::string(255, 'n'), big}).size(),
                          beacon_query_size);
  beacon_packet out;
  CAF_CHECK(decode_beacon(query.data(), query.size(), "crust", out) == beacon_verdict::ok);
  CAF_CHECK(out.query);
  CAF_CHECK_EQUAL(out.record.peer, alice.id());
  CAF_CHECK(decode_beacon(announce.data(), announce.size(), "crust", out) == beacon_verdict::ok);
  CAF_CHECK(!out.query);
  CAF_CHECK(decode_beacon(announce.data(), announce.size(), "other", out)
            == beacon_verdict::other_network);
  auto forged = announce;
  forged.back() ^= 0x40; // the signature
  CAF_CHECK(decode_beacon(forged.data(), forged.size(), "crust", out) == beacon_verdict::forged);
  auto junk = query;
  junk.back() = 1; // padding must be zeros
  CAF_CHECK(decode_beacon(junk.data(), junk.size(), "crust", out) == beacon_verdict::malformed);
  auto magic = announce;
  magic[0] = 'X';
  CAF_CHECK(decode_beacon(magic.data(), magic.size(), "crust", out) == beacon_verdict::malformed);
  for (size_t n = 0; n < announce.size(); ++n)
    CAF_CHECK(decode_beacon(announce.data(), n, "crust", out) != beacon_verdict::ok);
}

CAF_TEST(a gossip message with one forged record is refused whole) {
  auto good = make_peer_record(alice, "crust", {ep("198.51.100.7:5483")}, 5, 99999999999);
  auto forged = make_peer_record(mallory, "crust", {ep("203.0.113.66:1")}, 6, 99999999999);
  forged.peer = identity::generate().id();
  uint8_t ttl = 0;
  std::vector<peer_record> out;
  CAF_REQUIRE_EQUAL(decode_gossip(encode_gossip(3, {good}), "crust", ttl, out), ec::none);
  CAF_CHECK_EQUAL(ttl, 3);
  CAF_CHECK_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(decode_gossip(encode_gossip(3, {good, forged}), "crust", ttl, out),
                  ec::bad_record);
  CAF_CHECK_EQUAL(decode_gossip(bytes{3, 0}, "crust", ttl, out), ec::malformed_frame);
  auto b = encode_gossip(3, {good});
  b.push_back(0);
  CAF_CHECK_EQUAL(decode_gossip(b, "crust", ttl, out), ec::malformed_frame);
}

CAF_TEST(the gossip table keeps the newest record per peer) {
  gossip_table t{alice.id(), 2};
  auto bob = identity::generate();
  auto carol = identity::generate();
  auto dave = identity::generate();
  auto rec = [](const identity& who, uint64_t seq, uint64_t expires) {
    return make_peer_record(who, "crust", {ep("198.51.100.9:1")}, seq, expires);
  };
  CAF_CHECK(t.offer(rec(alice, 1, 2000), 1000) == gossip_table::verdict::own);
  CAF_CHECK(t.offer(rec(bob, 1, 2000), 1000) == gossip_table::verdict::fresh);
  CAF_CHECK(t.offer(rec(bob, 1, 2000), 1000) == gossip_table::verdict::known);
  CAF_CHECK(t.offer(rec(bob, 0, 2000), 1000) == gossip_table::verdict::known);
  CAF_CHECK(t.offer(rec(bob, 2, 2500), 1000) == gossip_table::verdict::fresh);
  CAF_CHECK(t.offer(rec(carol, 1, 900), 1000) == gossip_table::verdict::expired);
  CAF_CHECK(t.offer(rec(carol, 1, 1500), 1000) == gossip_table::verdict::fresh);
  // Full: dave's record outlives carol's, which goes.
  CAF_CHECK(t.offer(rec(dave, 1, 3000), 1000) == gossip_table::verdict::fresh);
  CAF_CHECK(t.find(carol.id()) == nullptr);
  CAF_CHECK_EQUAL(t.size(), 2u);
  t.expire(2600);
  CAF_CHECK(t.find(bob.id()) == nullptr);
  CAF_CHECK(t.find(dave.id()) != nullptr);
}

CAF_TEST_FIXTURE_SCOPE_END()
