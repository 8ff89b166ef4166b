// The identity payload: round trips with every extension, unknown extensions
// skipped, and every malformation refused by name.
#define CAF_SUITE transport.handshake_payload
#include <caf/test/unit_test.hpp>

#include "transport/handshake_payload.hpp"

#include <sodium.h>

using namespace crust;

namespace {

struct fixture {
  fixture() {
    if (sodium_init() < 0)
      CAF_FAIL("libsodium failed to initialise");
  }
  identity id = identity::generate();
  noise::keypair static_keys = noise::keypair::generate();
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(payload_tests, fixture)

CAF_TEST(every field survives a round trip) {
  for (auto addr : {"198.51.100.20", "2001:db8::1"}) {
    auto x = make_payload(id, static_keys.pub, node_role::client, 5483,
                          endpoint{protocol::tcp, addr, 40000});
    x.features = 0x01020304;
    auto wire = encode_payload(x);
    handshake_payload y;
    CAF_REQUIRE_EQUAL(decode_and_verify_payload(wire.data(), wire.size(), static_keys.pub, y),
                      ec::none);
    CAF_CHECK_EQUAL(y.identity_key, id.id());
    CAF_CHECK(y.role == node_role::client);
    CAF_CHECK_EQUAL(y.listen_port, 5483);
    CAF_REQUIRE(y.observed.has_value());
    CAF_CHECK_EQUAL(y.observed->address, addr);
    CAF_CHECK_EQUAL(y.observed->port, 40000);
    CAF_CHECK_EQUAL(y.features, 0x01020304u);
  }
}

CAF_TEST(unknown extensions are skipped) {
  auto wire = encode_payload(make_payload(id, static_keys.pub, node_role::node, 0));
  bytes unknown{0x7e, 0, 3, 'x', 'y', 'z'};
  wire.insert(wire.end(), unknown.begin(), unknown.end());
  handshake_payload y;
  CAF_CHECK_EQUAL(decode_and_verify_payload(wire.data(), wire.size(), static_keys.pub, y), ec::none);
}

CAF_TEST(malformed payloads are refused) {
  auto good = encode_payload(make_payload(id, static_keys.pub, node_role::node, 0));
  handshake_payload y;
  auto check = [&](bytes wire, ec want) {
    CAF_CHECK_EQUAL(decode_and_verify_payload(wire.data(), wire.size(), static_keys.pub, y), want);
  };
  check(bytes(good.begin(), good.begin() + 50), ec::bad_identity);   // cut short
  auto v = good;
  v[0] = 2;
  check(v, ec::protocol_version_mismatch);                           // another version
  auto r = good;
  r[1] = 9;
  check(r, ec::bad_identity);                                        // no such role
  auto sig = good;
  sig[40] ^= 1;
  check(sig, ec::bad_identity);                                      // bad signature
  auto other = noise::keypair::generate();
  CAF_CHECK_EQUAL(decode_and_verify_payload(good.data(), good.size(), other.pub, y),
                  ec::bad_identity);                                 // signed another key
  auto ext = good;
  ext.insert(ext.end(), {1, 0, 9, 0}); // listen port extension running past the end
  check(ext, ec::bad_identity);
  auto port = good;
  port.insert(port.end(), {1, 0, 3, 0, 0, 0}); // listen port of the wrong size
  check(port, ec::bad_identity);
  auto obs = good;
  obs.insert(obs.end(), {2, 0, 2, 5, 1}); // observed address of an unknown family
  check(obs, ec::bad_identity);
}

CAF_TEST_FIXTURE_SCOPE_END()
