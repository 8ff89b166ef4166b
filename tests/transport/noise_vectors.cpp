// Replays the published cacophony vectors for every
// Noise_*_25519_ChaChaPoly_SHA256 pattern in ../shared/vectors byte for byte:
// handshake messages, handshake hash and transport messages.
#define CAF_SUITE transport.noise_vectors
#include <caf/test/unit_test.hpp>

#include "transport/hex.hpp"
#include "transport/noise/handshake_state.hpp"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <fstream>
#include <set>

using namespace crust;
using namespace crust::noise;
using json = nlohmann::json;

namespace {

json load_vectors() {
  std::string path = CRUST_SHARED_DIR "/vectors/noise-25519-chachapoly-sha256.json";
  std::ifstream in(path);
  if (!in)
    CAF_FAIL("missing Noise test vectors: " << path);
  return json::parse(in);
}

bytes hex_field(const json& v, const char* name) {
  auto x = from_hex(v.at(name).get<std::string>());
  if (!x)
    CAF_FAIL("bad hex in vector field " << name);
  return *x;
}

template <class Array>
Array hex_array(const json& v, const char* name) {
  auto b = hex_field(v, name);
  Array out{};
  if (b.size() != out.size())
    CAF_FAIL("wrong length in vector field " << name);
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

handshake_keys keys_for(const json& v, const std::string& side) {
  handshake_keys keys;
  if (v.contains(side + "_static"))
    keys.static_keys = keypair::from_secret(hex_array<key>(v, (side + "_static").c_str()));
  if (v.contains(side + "_ephemeral"))
    keys.ephemeral = keypair::from_secret(hex_array<key>(v, (side + "_ephemeral").c_str()));
  if (v.contains(side + "_remote_static"))
    keys.remote_static = hex_array<public_key>(v, (side + "_remote_static").c_str());
  return keys;
}

std::string pattern_of(const std::string& protocol) {
  // "Noise_XX_25519_ChaChaPoly_SHA256" -> "XX"
  auto first = protocol.find('_');
  auto second = protocol.find('_', first + 1);
  return protocol.substr(first + 1, second - first - 1);
}

} // namespace

CAF_TEST(every published pattern is known) {
  auto doc = load_vectors();
  auto& vectors = doc.at("vectors");
  CAF_REQUIRE_GREATER_OR_EQUAL(vectors.size(), 38u);
  for (auto& v : vectors) {
    auto name = pattern_of(v.at("protocol_name").get<std::string>());
    CAF_CHECK(find_pattern(name).has_value());
  }
}

CAF_TEST(handshake and transport messages match the vectors byte for byte) {
  auto doc = load_vectors();
  size_t checked_vectors = 0;
  for (auto& v : doc.at("vectors")) {
    auto protocol = v.at("protocol_name").get<std::string>();
    auto pattern = find_pattern(pattern_of(protocol));
    CAF_REQUIRE(pattern.has_value());
    CAF_MESSAGE("vector " << protocol);
    auto init_prologue = hex_field(v, "init_prologue");
    auto resp_prologue = hex_field(v, "resp_prologue");
    handshake_state init(*pattern, true, init_prologue.data(), init_prologue.size(),
                         keys_for(v, "init"));
    handshake_state resp(*pattern, false, resp_prologue.data(), resp_prologue.size(),
                         keys_for(v, "resp"));
    std::optional<std::pair<cipher_state, cipher_state>> init_ciphers, resp_ciphers;
    size_t index = 0;
    for (auto& m : v.at("messages")) {
      auto payload = hex_field(m, "payload");
      auto expected = hex_field(m, "ciphertext");
      bytes wire, received;
      if (!init.finished()) {
        auto& sender = init.my_turn() ? init : resp;
        auto& receiver = init.my_turn() ? resp : init;
        CAF_REQUIRE_EQUAL(sender.write_message(payload.data(), payload.size(), wire), ec::none);
        CAF_CHECK_EQUAL(to_hex(wire), to_hex(expected));
        CAF_REQUIRE_EQUAL(receiver.read_message(wire.data(), wire.size(), received), ec::none);
        CAF_CHECK_EQUAL(to_hex(received), to_hex(payload));
        if (init.finished()) {
          CAF_REQUIRE(resp.finished());
          auto hash = hex_field(v, "handshake_hash");
          CAF_CHECK_EQUAL(to_hex(init.handshake_hash()), to_hex(hash));
          CAF_CHECK_EQUAL(to_hex(resp.handshake_hash()), to_hex(hash));
          init_ciphers = init.split();
          resp_ciphers = resp.split();
        }
      } else {
        // One-way patterns send everything from the initiator; interactive
        // ones keep alternating, initiator on even indices.
        bool from_initiator = pattern->one_way() || index % 2 == 0;
        auto& send = from_initiator ? init_ciphers->first : resp_ciphers->first;
        auto& recv = from_initiator ? resp_ciphers->second : init_ciphers->second;
        CAF_REQUIRE_EQUAL(send.encrypt_with_ad(nullptr, 0, payload.data(), payload.size(), wire),
                          ec::none);
        CAF_CHECK_EQUAL(to_hex(wire), to_hex(expected));
        CAF_REQUIRE_EQUAL(recv.decrypt_with_ad(nullptr, 0, wire.data(), wire.size(), received),
                          ec::none);
        CAF_CHECK_EQUAL(to_hex(received), to_hex(payload));
      }
      ++index;
    }
    CAF_CHECK(init.finished());
    ++checked_vectors;
  }
  CAF_CHECK_GREATER_OR_EQUAL(checked_vectors, 38u);
}

CAF_TEST(a tampered handshake message is rejected and poisons the handshake) {
  auto xx = *find_pattern("XX");
  handshake_state init(xx, true, nullptr, 0, {keypair::generate(), {}, {}, {}});
  handshake_state resp(xx, false, nullptr, 0, {keypair::generate(), {}, {}, {}});
  bytes m1, m2, p;
  CAF_REQUIRE_EQUAL(init.write_message(nullptr, 0, m1), ec::none);
  CAF_REQUIRE_EQUAL(resp.read_message(m1.data(), m1.size(), p), ec::none);
  CAF_REQUIRE_EQUAL(resp.write_message(nullptr, 0, m2), ec::none);
  m2[40] ^= 0x01; // inside the encrypted static key
  CAF_CHECK_EQUAL(init.read_message(m2.data(), m2.size(), p), ec::decrypt_failed);
  m2[40] ^= 0x01;
  CAF_CHECK_EQUAL(init.read_message(m2.data(), m2.size(), p), ec::handshake_failed);
}

CAF_TEST(a truncated handshake message is rejected) {
  auto xx = *find_pattern("XX");
  handshake_state resp(xx, false, nullptr, 0, {keypair::generate(), {}, {}, {}});
  bytes short_msg(31, 0x42), p;
  CAF_CHECK_EQUAL(resp.read_message(short_msg.data(), short_msg.size(), p),
                  ec::truncated_frame);
}

CAF_TEST(a low-order ephemeral key is refused) {
  auto xx = *find_pattern("XX");
  handshake_state init(xx, true, nullptr, 0, {keypair::generate(), {}, {}, {}});
  bytes m1, p;
  CAF_REQUIRE_EQUAL(init.write_message(nullptr, 0, m1), ec::none);
  // A reply whose ephemeral key is the all-zero point makes `ee` all zeros.
  bytes m2(32 + 48 + 16, 0);
  CAF_CHECK_EQUAL(init.read_message(m2.data(), m2.size(), p), ec::invalid_public_key);
}

CAF_TEST(rekey changes the key deterministically on both ends) {
  key k{};
  k[0] = 7;
  cipher_state a, b;
  a.initialize_key(k);
  b.initialize_key(k);
  a.rekey();
  b.rekey();
  bytes ct, pt;
  uint8_t msg[] = {1, 2, 3};
  CAF_REQUIRE_EQUAL(a.encrypt_with_ad(nullptr, 0, msg, 3, ct), ec::none);
  CAF_CHECK_EQUAL(b.decrypt_with_ad(nullptr, 0, ct.data(), ct.size(), pt), ec::none);
  cipher_state stale;
  stale.initialize_key(k);
  bytes pt2;
  CAF_CHECK_EQUAL(stale.decrypt_with_ad(nullptr, 0, ct.data(), ct.size(), pt2),
                  ec::decrypt_failed);
}

CAF_TEST(aesgcm uses the big-endian noise nonce and rekeys with its own cipher) {
  if (!aesgcm_available()) {
    // libsodium has no AES-256-GCM without AES-NI: the switch is refused.
    cipher_state c;
    CAF_CHECK_EQUAL(c.use(cipher_kind::aesgcm), ec::unsupported);
    CAF_CHECK(c.cipher() == cipher_kind::chachapoly);
    return;
  }
  key k{};
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<uint8_t>(0x40 + i);
  cipher_state a;
  a.initialize_key(k);
  CAF_REQUIRE_EQUAL(a.use(cipher_kind::aesgcm), ec::none);
  a.set_nonce(0x0102030405060708ull);
  uint8_t ad[] = {9, 9};
  uint8_t msg[] = {'c', 'r', 'u', 's', 't'};
  bytes ct;
  CAF_REQUIRE_EQUAL(a.encrypt_with_ad(ad, sizeof(ad), msg, sizeof(msg), ct), ec::none);
  // Noise §12.4: 32 zero bits, then the nonce big-endian.
  uint8_t nonce[12] = {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  uint8_t want[sizeof(msg) + tag_len];
  unsigned long long want_len = 0;
  crypto_aead_aes256gcm_encrypt(want, &want_len, msg, sizeof(msg), ad, sizeof(ad), nullptr, nonce,
                                k.data());
  CAF_CHECK(ct == bytes(want, want + want_len));
  // ChaChaPoly with the same key and nonce gives other bytes.
  cipher_state c;
  c.initialize_key(k);
  c.set_nonce(0x0102030405060708ull);
  bytes cc;
  CAF_REQUIRE_EQUAL(c.encrypt_with_ad(ad, sizeof(ad), msg, sizeof(msg), cc), ec::none);
  CAF_CHECK(cc != ct);
  // Rekey: the first 32 bytes of AES-GCM(k, 2^64-1, no ad, 32 zeros).
  uint8_t max_nonce[12] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  uint8_t zeros[32] = {};
  uint8_t rekeyed[32 + tag_len];
  unsigned long long rekeyed_len = 0;
  crypto_aead_aes256gcm_encrypt(rekeyed, &rekeyed_len, zeros, 32, nullptr, 0, nullptr, max_nonce,
                                k.data());
  a.rekey();
  key next;
  std::copy(rekeyed, rekeyed + 32, next.begin());
  cipher_state b;
  b.initialize_key(next);
  CAF_REQUIRE_EQUAL(b.use(cipher_kind::aesgcm), ec::none);
  a.set_nonce(0);
  bytes ct2, pt;
  CAF_REQUIRE_EQUAL(a.encrypt_with_ad(nullptr, 0, msg, sizeof(msg), ct2), ec::none);
  CAF_CHECK_EQUAL(b.decrypt_with_ad(nullptr, 0, ct2.data(), ct2.size(), pt), ec::none);
  CAF_CHECK(pt == bytes(msg, msg + sizeof(msg)));
  // A flipped bit fails the tag.
  ct2[0] ^= 1;
  cipher_state d;
  d.initialize_key(next);
  d.use(cipher_kind::aesgcm);
  bytes pt2;
  CAF_CHECK_EQUAL(d.decrypt_with_ad(nullptr, 0, ct2.data(), ct2.size(), pt2), ec::decrypt_failed);
}
