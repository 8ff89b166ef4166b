// crust's own wire vectors (tests/vectors/crust-v1-handshake.json): with fixed
// identities and Noise keys, a full handshake and the first transport frames
// must come out byte for byte as published in docs/PROTOCOL.md, so another
// implementation can test itself against them without running ours.
//
// CRUST_WRITE_VECTORS=1 rewrites the file from this implementation (only when
// the protocol changes on purpose; the version must change with it).
#define CAF_SUITE transport.wire_vectors
#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include "transport/handshake_payload.hpp"
#include "transport/hex.hpp"
#include "transport/stream_session.hpp"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <cstdlib>
#include <fstream>

using namespace crust;
using json = nlohmann::json;

namespace {

const char* vector_path = CRUST_SOURCE_DIR "/tests/vectors/crust-v1-handshake.json";

template <class Array>
Array counting(uint8_t first) {
  Array out{};
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<uint8_t>(first + i);
  return out;
}

struct side {
  identity id;
  noise::keypair static_keys;
  noise::keypair ephemeral;
  session_config cfg;
};

side make_side(uint8_t base, uint16_t port, endpoint observed) {
  side s{identity::from_seed(counting<identity::seed_type>(base)),
         noise::keypair::from_secret(counting<noise::key>(base + 0x40)),
         noise::keypair::from_secret(counting<noise::key>(base + 0x60)), session_config{}};
  s.cfg.network = "crust";
  s.cfg.listen_port = port;
  s.cfg.observed = observed;
  // The published conversation is ChaCha20-Poly1305 throughout, whatever
  // this CPU offers (AES-256-GCM would set feature bit 0x4).
  s.cfg.aesgcm = false;
  return s;
}

/// Runs the fixed conversation and records every byte that crosses.
json conversation() {
  auto init = make_side(0x01, 5483, endpoint{protocol::tcp, "198.51.100.2", 5484});
  auto resp = make_side(0x81, 5484, endpoint{protocol::tcp, "203.0.113.9", 40001});
  auto t = stream_session::time_point{} + std::chrono::hours(1);
  stream_session a(init.cfg, init.id, true, t, {init.static_keys, init.ephemeral, {}, {}});
  stream_session b(resp.cfg, resp.id, false, t, {resp.static_keys, resp.ephemeral, {}, {}});
  json j;
  auto hex = [](const auto& x) { return to_hex(x); };
  j["protocol"] = "Noise_XX_25519_ChaChaPoly_SHA256";
  j["protocol_version"] = protocol_version;
  j["network"] = init.cfg.network;
  j["prologue"] = hex(make_prologue(init.cfg.network));
  for (auto [name, s] : {std::pair<const char*, side*>{"initiator", &init}, {"responder", &resp}}) {
    j[name] = {{"identity_seed", hex(s->id.seed())},
               {"identity_public_key", to_string(s->id.id())},
               {"noise_static_secret", hex(s->static_keys.secret)},
               {"noise_static_public", hex(s->static_keys.pub)},
               {"noise_ephemeral_secret", hex(s->ephemeral.secret)},
               {"noise_ephemeral_public", hex(s->ephemeral.pub)},
               {"role", "node"},
               {"listen_port", s->cfg.listen_port},
               {"observed", to_string(*s->cfg.observed)},
               {"identity_payload", hex(encode_payload(make_payload(
                                      s->id, s->static_keys.pub, node_role::node,
                                      s->cfg.listen_port, s->cfg.observed)))}};
  }
  auto step = [&](stream_session& from, stream_session& to) {
    bytes wire;
    from.poll_transmit(wire, 1 << 20, t);
    to.handle_data(wire.data(), wire.size(), t);
    return wire;
  };
  j["handshake"] = json::array({hex(step(a, b)), hex(step(b, a)), hex(step(a, b))});
  if (a.current_state() != stream_session::state::established
      || b.current_state() != stream_session::state::established)
    CAF_FAIL("the fixed handshake did not complete");
  j["handshake_hash"] = hex(a.handshake_hash());
  bytes hello{'h', 'e', 'l', 'l', 'o'};
  a.send(hello, 2);
  bytes one{'a'}, two{'b', 'c'};
  b.send(two, 3);
  b.send(one, 0);
  j["transport"] = json::array(
    {{{"from", "initiator"}, {"messages", {{{"priority", 2}, {"data", "hello"}}}},
      {"frame", hex(step(a, b))}},
     {{"from", "responder"},
      {"messages", {{{"priority", 0}, {"data", "a"}}, {{"priority", 3}, {"data", "bc"}}}},
      {"frame", hex(step(b, a))}}});
  // What each side decoded, to check the recording itself.
  std::vector<std::string> got_b, got_a;
  while (auto ev = b.poll_event())
    if (auto m = std::get_if<session_message>(&*ev))
      got_b.emplace_back(m->payload.begin(), m->payload.end());
  while (auto ev = a.poll_event())
    if (auto m = std::get_if<session_message>(&*ev))
      got_a.emplace_back(m->payload.begin(), m->payload.end());
  CAF_CHECK_EQUAL(got_b, std::vector<std::string>({"hello"}));
  CAF_CHECK_EQUAL(got_a, std::vector<std::string>({"a", "bc"}));
  return j;
}

} // namespace

CAF_TEST(a fixed handshake and its first frames match the published bytes) {
  if (sodium_init() < 0)
    CAF_FAIL("libsodium failed to initialise");
  auto ours = conversation();
  if (std::getenv("CRUST_WRITE_VECTORS")) {
    std::ofstream(vector_path) << ours.dump(2) << "\n";
    CAF_MESSAGE("wrote " << vector_path);
    return;
  }
  std::ifstream in(vector_path);
  if (!in)
    CAF_FAIL("missing wire vectors: " << vector_path);
  auto published = json::parse(in);
  CAF_CHECK_EQUAL(published["handshake"], ours["handshake"]);
  CAF_CHECK_EQUAL(published["handshake_hash"], ours["handshake_hash"]);
  CAF_CHECK_EQUAL(published["transport"], ours["transport"]);
  CAF_CHECK_EQUAL(published["initiator"], ours["initiator"]);
  CAF_CHECK_EQUAL(published["responder"], ours["responder"]);
  CAF_CHECK_EQUAL(published["prologue"], ours["prologue"]);
}

CAF_TEST(the published handshake decodes with the generic Noise core) {
  // An independent reading of the vectors: replay message bytes into a plain
  // Noise XX responder built from the published keys (no crust session).
  std::ifstream in(vector_path);
  if (!in)
    CAF_FAIL("missing wire vectors: " << vector_path);
  auto v = json::parse(in);
  auto key = [&](const json& side, const char* field) {
    noise::key k{};
    auto b = *from_hex(side[field].get<std::string>());
    std::copy(b.begin(), b.end(), k.begin());
    return k;
  };
  auto prologue = *from_hex(v["prologue"].get<std::string>());
  noise::handshake_state resp(*noise::find_pattern("XX"), false, prologue.data(), prologue.size(),
                              {noise::keypair::from_secret(key(v["responder"], "noise_static_secret")),
                               noise::keypair::from_secret(key(v["responder"], "noise_ephemeral_secret")),
                               {}, {}});
  auto frame_body = [](const std::string& hex_text) {
    auto b = *from_hex(hex_text);
    return bytes(b.begin() + 2, b.end()); // strip the u16 length
  };
  bytes payload;
  auto m1 = frame_body(v["handshake"][0]);
  CAF_REQUIRE_EQUAL(resp.read_message(m1.data(), m1.size(), payload), ec::none);
  CAF_CHECK(payload == bytes({protocol_version}));
  bytes m2;
  auto our_payload = *from_hex(v["responder"]["identity_payload"].get<std::string>());
  CAF_REQUIRE_EQUAL(resp.write_message(our_payload.data(), our_payload.size(), m2), ec::none);
  CAF_CHECK_EQUAL(to_hex(m2), to_hex(frame_body(v["handshake"][1])));
  payload.clear();
  auto m3 = frame_body(v["handshake"][2]);
  CAF_REQUIRE_EQUAL(resp.read_message(m3.data(), m3.size(), payload), ec::none);
  CAF_CHECK_EQUAL(to_hex(payload), v["initiator"]["identity_payload"].get<std::string>());
  CAF_CHECK_EQUAL(to_hex(resp.handshake_hash()), v["handshake_hash"].get<std::string>());
}
