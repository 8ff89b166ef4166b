// crust's own wire vectors (tests/vectors/crust-v1-handshake.json): with fixed
// identities and Noise keys, a full handshake and the first transport frames
// must come out byte for byte as published in docs/PROTOCOL.md, so another
// implementation can test itself against them without running ours.
//
// CRUST_WRITE_VECTORS=1 rewrites the file from this implementation (only when
// the protocol changes on purpose; the version must change with it).
#define CAF_SUITE transport.wire_vectors
#include <caf/test/unit_test.hpp>

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

side make_side(uint8_t base, uint16_t port, endpoint observed, bool aesgcm = false) {
  side s{identity::from_seed(counting<identity::seed_type>(base)),
         noise::keypair::from_secret(counting<noise::key>(base + 0x40)),
         noise::keypair::from_secret(counting<noise::key>(base + 0x60)), session_config{}};
  s.cfg.network = "crust";
  s.cfg.listen_port = port;
  s.cfg.observed = observed;
  // The first published conversation is ChaCha20-Poly1305 throughout,
  // whatever this CPU offers; the second has both sides offer AES-256-GCM
  // (feature bit 0x4), so its transport frames use it.
  s.cfg.aesgcm = aesgcm;
  return s;
}

/// Runs the fixed conversation and records every byte that crosses.
json conversation(bool aesgcm = false) {
  auto init = make_side(0x01, 5483, endpoint{protocol::tcp, "198.51.100.2", 5484}, aesgcm);
  auto resp = make_side(0x81, 5484, endpoint{protocol::tcp, "203.0.113.9", 40001}, aesgcm);
  auto features = our_features(false, aesgcm);
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
               {"features", features},
               {"identity_payload", hex(encode_payload(make_payload(
                                      s->id, s->static_keys.pub, node_role::node,
                                      s->cfg.listen_port, s->cfg.observed, features)))}};
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
  j["transport_cipher"] = aesgcm ? "AESGCM" : "ChaChaPoly";
  return j;
}

/// The frame of one message "hello" at priority 2 (one `data, last` item on
/// channel 2), sealed by `c` at its current nonce, length prefix included.
bytes hello_frame(noise::cipher_state& c) {
  bytes plain{0x02, 2, 0, 5, 'h', 'e', 'l', 'l', 'o'};
  bytes sealed;
  if (c.encrypt_with_ad(nullptr, 0, plain.data(), plain.size(), sealed) != ec::none)
    CAF_FAIL("sealing failed");
  bytes out(2 + sealed.size());
  out[0] = static_cast<uint8_t>(sealed.size() >> 8);
  out[1] = static_cast<uint8_t>(sealed.size());
  std::copy(sealed.begin(), sealed.end(), out.begin() + 2);
  return out;
}

/// Rekey (docs/PROTOCOL.md §4.1) for each cipher: a fixed key, the key after
/// Noise's Rekey(), and the frames on either side of it — frame 2^20 - 1,
/// the last under the old key, and frame 2^20, the first under the new one
/// (the nonce keeps counting).
json rekey_vectors() {
  json out = json::array();
  auto before = counting<noise::key>(0xa0);
  for (auto c : {noise::cipher_kind::chachapoly, noise::cipher_kind::aesgcm}) {
    if (c == noise::cipher_kind::aesgcm && !noise::aesgcm_available())
      continue;
    noise::cipher_state cs;
    cs.initialize_key(before);
    cs.use(c);
    cs.set_nonce((uint64_t{1} << 20) - 1);
    auto last_old = hello_frame(cs);
    CAF_CHECK_EQUAL(cs.nonce(), uint64_t{1} << 20);
    cs.rekey();
    auto first_new = hello_frame(cs);
    out.push_back({{"cipher", c == noise::cipher_kind::aesgcm ? "AESGCM" : "ChaChaPoly"},
                   {"key", to_hex(before)},
                   {"frames", {{{"nonce", (uint64_t{1} << 20) - 1}, {"frame", to_hex(last_old)}},
                               {{"nonce", uint64_t{1} << 20}, {"frame", to_hex(first_new)}}}},
                   {"plaintext", "0202000568656c6c6f"}});
  }
  return out;
}

/// Noise's Rekey() done with libsodium alone: the first 32 bytes of
/// ENCRYPT(k, 2^64 - 1, "", 32 zero bytes), the nonce encoded as the cipher
/// encodes it (ChaChaPoly little-endian, AESGCM big-endian; for 2^64 - 1
/// both are 4 zero bytes and 8 bytes of 0xff).
noise::key libsodium_rekey(const noise::key& k, bool aes) {
  uint8_t nonce[12] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  uint8_t zeros[32] = {};
  uint8_t out[32 + 16];
  if (aes)
    crypto_aead_aes256gcm_encrypt(out, nullptr, zeros, 32, nullptr, 0, nullptr, nonce, k.data());
  else
    crypto_aead_chacha20poly1305_ietf_encrypt(out, nullptr, zeros, 32, nullptr, 0, nullptr, nonce,
                                              k.data());
  noise::key result;
  std::copy(out, out + 32, result.begin());
  return result;
}

/// Opens a published frame with libsodium alone: `n` encoded per cipher.
bytes libsodium_open(const noise::key& k, bool aes, uint64_t n, const bytes& frame) {
  uint8_t nonce[12] = {};
  for (int i = 0; i < 8; ++i)
    nonce[aes ? 11 - i : 4 + i] = static_cast<uint8_t>(n >> (8 * i));
  bytes body(frame.begin() + 2, frame.end());
  bytes plain(body.size() - 16);
  unsigned long long len = 0;
  int rc = aes ? crypto_aead_aes256gcm_decrypt(plain.data(), &len, nullptr, body.data(),
                                               body.size(), nullptr, 0, nonce, k.data())
               : crypto_aead_chacha20poly1305_ietf_decrypt(plain.data(), &len, nullptr,
                                                           body.data(), body.size(), nullptr, 0,
                                                           nonce, k.data());
  if (rc != 0)
    return {};
  return plain;
}

json all_vectors() {
  auto j = conversation(false);
  if (noise::aesgcm_available())
    j["aesgcm_conversation"] = conversation(true);
  j["rekey"] = rekey_vectors();
  return j;
}

} // namespace

CAF_TEST(a fixed handshake and its first frames match the published bytes) {
  if (sodium_init() < 0)
    CAF_FAIL("libsodium failed to initialise");
  auto ours = all_vectors();
  if (std::getenv("CRUST_WRITE_VECTORS")) {
    if (!noise::aesgcm_available())
      CAF_FAIL("writing the vectors needs a CPU with AES instructions (the AES-256-GCM ones)");
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
  CAF_REQUIRE(published.contains("aesgcm_conversation") && published.contains("rekey"));
  if (noise::aesgcm_available()) {
    CAF_CHECK_EQUAL(published["aesgcm_conversation"], ours["aesgcm_conversation"]);
    CAF_CHECK_EQUAL(published["rekey"], ours["rekey"]);
  } else {
    CAF_MESSAGE("no AES instructions here: the AES-256-GCM vectors are checked on ChaChaPoly "
                "only");
    CAF_CHECK_EQUAL(published["rekey"][0], ours["rekey"][0]);
  }
}

CAF_TEST(the published rekey frames open with libsodium alone) {
  // An independent reading: Rekey() computed with libsodium's AEADs
  // directly, and both published frames opened with the key of their side.
  std::ifstream in(vector_path);
  if (!in)
    CAF_FAIL("missing wire vectors: " << vector_path);
  auto v = json::parse(in);
  CAF_REQUIRE_EQUAL(v["rekey"].size(), 2u);
  for (auto& r : v["rekey"]) {
    bool aes = r["cipher"] == "AESGCM";
    if (aes && !crypto_aead_aes256gcm_is_available()) {
      CAF_MESSAGE("no AES instructions here: AESGCM rekey vector not opened");
      continue;
    }
    noise::key before{};
    auto b = *from_hex(r["key"].get<std::string>());
    std::copy(b.begin(), b.end(), before.begin());
    auto after = libsodium_rekey(before, aes);
    auto plain = *from_hex(r["plaintext"].get<std::string>());
    auto last_old = *from_hex(r["frames"][0]["frame"].get<std::string>());
    auto first_new = *from_hex(r["frames"][1]["frame"].get<std::string>());
    CAF_CHECK(libsodium_open(before, aes, (uint64_t{1} << 20) - 1, last_old) == plain);
    CAF_CHECK(libsodium_open(after, aes, uint64_t{1} << 20, first_new) == plain);
    // And not the other way round: the new key begins exactly at 2^20.
    CAF_CHECK(libsodium_open(before, aes, uint64_t{1} << 20, first_new).empty());
    CAF_CHECK(libsodium_open(after, aes, (uint64_t{1} << 20) - 1, last_old).empty());
  }
}

CAF_TEST(the published aes-256-gcm conversation uses aes-256-gcm) {
  std::ifstream in(vector_path);
  if (!in)
    CAF_FAIL("missing wire vectors: " << vector_path);
  auto v = json::parse(in);
  auto& a = v["aesgcm_conversation"];
  CAF_CHECK_EQUAL(a["transport_cipher"], "AESGCM");
  CAF_CHECK_EQUAL(a["initiator"]["features"], 5);
  CAF_CHECK_EQUAL(a["responder"]["features"], 5);
  CAF_CHECK_EQUAL(v["initiator"]["features"], 1);
  // The payloads end with extension 3 (features) = 5 and = 1.
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  CAF_CHECK(ends_with(a["initiator"]["identity_payload"].get<std::string>(), "03000400000005"));
  CAF_CHECK(ends_with(v["initiator"]["identity_payload"].get<std::string>(), "03000400000001"));
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
