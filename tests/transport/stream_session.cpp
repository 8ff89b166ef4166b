// The sans-I/O stream session: two sessions wired back to back, driven with a
// simulated clock. Covers the handshake with identity binding, message
// framing, priorities, keepalives, timeouts, close, and each bad input.
#define CAF_SUITE transport.stream_session
#include <caf/test/unit_test.hpp>

#include "transport/stream_session.hpp"

#include <sodium.h>

using namespace crust;
using namespace std::chrono_literals;

namespace {

using time_point = stream_session::time_point;

struct endpoint_state {
  std::vector<bytes> messages;
  std::vector<session_service> services;
  std::optional<session_closed> closed;
  bool established = false;
};

void drain(stream_session& s, endpoint_state& st) {
  while (auto ev = s.poll_event()) {
    if (std::holds_alternative<session_established>(*ev))
      st.established = true;
    else if (auto m = std::get_if<session_message>(&*ev))
      st.messages.push_back(std::move(m->payload));
    else if (auto sv = std::get_if<session_service>(&*ev))
      st.services.push_back(std::move(*sv));
    else
      st.closed = std::get<session_closed>(*ev);
  }
}

struct fixture {
  fixture() {
    if (sodium_init() < 0)
      CAF_FAIL("libsodium failed to initialise");
  }

  identity alice_id = identity::generate();
  identity bob_id = identity::generate();
  session_config cfg;
  time_point now = time_point{} + 1h;
  std::optional<stream_session> alice; // initiator
  std::optional<stream_session> bob;   // responder
  endpoint_state a, b;
  size_t wire_bytes = 0; ///< bytes moved alice -> bob

  void start(session_config alice_cfg, session_config bob_cfg) {
    alice.emplace(alice_cfg, alice_id, true, now);
    bob.emplace(bob_cfg, bob_id, false, now);
  }

  void start() { start(cfg, cfg); }

  /// Moves bytes both ways until nothing moves; optionally mangles them.
  void pump(std::function<void(bytes&)> mangle_to_bob = nullptr) {
    for (int round = 0; round < 10000; ++round) {
      bytes ab, ba;
      alice->poll_transmit(ab, 1 << 20, now);
      bob->poll_transmit(ba, 1 << 20, now);
      if (ab.empty() && ba.empty())
        break;
      if (mangle_to_bob && !ab.empty())
        mangle_to_bob(ab);
      wire_bytes += ab.size();
      if (!ab.empty())
        bob->handle_data(ab.data(), ab.size(), now);
      if (!ba.empty())
        alice->handle_data(ba.data(), ba.size(), now);
      drain(*alice, a);
      drain(*bob, b);
    }
    drain(*alice, a);
    drain(*bob, b);
  }

  void connect() {
    start();
    pump();
    CAF_REQUIRE(a.established && b.established);
  }

  /// Advances the clock, firing deadlines on both sides as they fall due.
  void advance(std::chrono::milliseconds d) {
    auto until = now + d;
    for (int i = 0; i < 100000 && now < until; ++i) {
      auto next = std::min({alice->next_deadline(), bob->next_deadline(), until});
      now = std::max(now, next);
      alice->handle_timeout(now);
      bob->handle_timeout(now);
      pump();
    }
  }
};

bytes text(const std::string& s) {
  return bytes(s.begin(), s.end());
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(stream_session_tests, fixture)

CAF_TEST(handshake authenticates both identities) {
  cfg.listen_port = 4242;
  session_config client_cfg = cfg;
  client_cfg.role = node_role::client;
  client_cfg.listen_port = 0;
  start(client_cfg, cfg);
  pump();
  CAF_REQUIRE(a.established && b.established);
  CAF_CHECK_EQUAL(alice->remote(), bob_id.id());
  CAF_CHECK_EQUAL(bob->remote(), alice_id.id());
  CAF_CHECK(bob->remote_role() == node_role::client);
  CAF_CHECK(alice->remote_role() == node_role::node);
  CAF_CHECK_EQUAL(alice->remote_listen_port(), 4242);
  CAF_CHECK_EQUAL(bob->remote_listen_port(), 0);
  CAF_CHECK(alice->handshake_hash() == bob->handshake_hash());
}

CAF_TEST(the sessions of a node share its static key and signature) {
  // The node makes its static key and signature once (no key generation or
  // signature per handshake); every handshake still proves the identity.
  session_config bob_cfg = cfg;
  bob_cfg.credential = static_credential::make(bob_id);
  auto binding = static_key_binding(bob_cfg.credential->keys.pub);
  CAF_CHECK(identity::verify(bob_id.id(), binding.data(), binding.size(),
                             bob_cfg.credential->signature));
  // A fresh handshake in which alice authenticates bob, bob configured so.
  auto handshake_with = [&](const session_config& bobs) {
    a = {};
    b = {};
    start(cfg, bobs);
    pump();
    CAF_REQUIRE(a.established && b.established);
    CAF_CHECK_EQUAL(alice->remote(), bob_id.id());
  };
  for (int i = 0; i < 2; ++i) {
    handshake_with(bob_cfg);
    CAF_CHECK(bob->static_key() == bob_cfg.credential->keys.pub);
  }
  // Without one, each session makes its own.
  start();
  auto first = alice->static_key();
  start();
  CAF_CHECK(alice->static_key() != first);
  // Another identity's credential is never used: bob makes his own, and
  // alice still authenticates bob.
  session_config foreign = cfg;
  foreign.credential = static_credential::make(alice_id);
  handshake_with(foreign);
  CAF_CHECK(bob->static_key() != foreign.credential->keys.pub);
}

CAF_TEST(an initiator sends the ephemeral key made for it before the connection was up) {
  // The connection actor makes message 1's key while its TCP connect is
  // under way; the session must send that key, and the handshake completes.
  auto early = noise::keypair::generate();
  noise::handshake_keys keys;
  keys.ephemeral = early;
  alice.emplace(cfg, alice_id, true, now, keys);
  bob.emplace(cfg, bob_id, false, now);
  bytes first;
  alice->poll_transmit(first, 1 << 20, now);
  CAF_REQUIRE_GREATER_OR_EQUAL(first.size(), frame_header_size + noise::dh_len);
  CAF_CHECK(std::equal(early.pub.begin(), early.pub.end(), first.begin() + frame_header_size));
  bob->handle_data(first.data(), first.size(), now);
  pump();
  CAF_CHECK(a.established && b.established);
  // Without one, each initiator makes its own.
  start();
  bytes other;
  alice->poll_transmit(other, 1 << 20, now);
  CAF_REQUIRE_GREATER_OR_EQUAL(other.size(), frame_header_size + noise::dh_len);
  CAF_CHECK(!std::equal(early.pub.begin(), early.pub.end(), other.begin() + frame_header_size));
}

CAF_TEST(each side learns where the other sees it) {
  session_config a_cfg = cfg, b_cfg = cfg;
  a_cfg.observed = endpoint{protocol::tcp, "203.0.113.7", 5483};   // Bob, as Alice dialled him
  b_cfg.observed = endpoint{protocol::tcp, "2001:db8::5", 40123};  // Alice, as Bob sees her
  start(a_cfg, b_cfg);
  pump();
  CAF_REQUIRE(a.established && b.established);
  auto seen_by_bob = alice->observed_by_peer();
  auto seen_by_alice = bob->observed_by_peer();
  CAF_REQUIRE(seen_by_bob && seen_by_alice);
  CAF_CHECK_EQUAL(to_string(*seen_by_bob), "tcp://[2001:db8::5]:40123");
  CAF_CHECK_EQUAL(to_string(*seen_by_alice), "tcp://203.0.113.7:5483");
}

CAF_TEST(messages flow both ways in order) {
  connect();
  for (int i = 0; i < 100; ++i) {
    auto m = text("a->b " + std::to_string(i));
    CAF_REQUIRE_EQUAL(alice->send(m, 1), ec::none);
    auto r = text("b->a " + std::to_string(i));
    CAF_REQUIRE_EQUAL(bob->send(r, 1), ec::none);
  }
  pump();
  CAF_REQUIRE_EQUAL(b.messages.size(), 100u);
  CAF_REQUIRE_EQUAL(a.messages.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    CAF_CHECK(b.messages[i] == text("a->b " + std::to_string(i)));
    CAF_CHECK(a.messages[i] == text("b->a " + std::to_string(i)));
  }
}

CAF_TEST(both ends offering aes-256-gcm switch to it and only then) {
  bool aes = noise::aesgcm_available();
  session_config chacha_only = cfg;
  chacha_only.aesgcm = false;
  for (int offers = 0; offers < 4; ++offers) {
    a = {};
    b = {};
    auto ca = (offers & 1) ? cfg : chacha_only;
    auto cb = (offers & 2) ? cfg : chacha_only;
    start(ca, cb);
    pump();
    CAF_REQUIRE(a.established && b.established);
    auto want = offers == 3 && aes ? noise::cipher_kind::aesgcm : noise::cipher_kind::chachapoly;
    CAF_CHECK(alice->transport_cipher() == want);
    CAF_CHECK(bob->transport_cipher() == want);
    CAF_CHECK_EQUAL((alice->remote_features() & feature_aesgcm) != 0, (offers & 2) && aes);
    // Messages, a fragmented large one included, pass either way.
    bytes hello = text("hello"), big(200000, 0x33), back = text("back");
    auto big_copy = big;
    CAF_REQUIRE_EQUAL(alice->send(hello, 1), ec::none);
    CAF_REQUIRE_EQUAL(alice->send(big, 2), ec::none);
    CAF_REQUIRE_EQUAL(bob->send(back, 1), ec::none);
    pump();
    CAF_REQUIRE_EQUAL(b.messages.size(), 2u);
    CAF_CHECK(b.messages[0] == text("hello") && b.messages[1] == big_copy);
    CAF_REQUIRE_EQUAL(a.messages.size(), 1u);
  }
}

CAF_TEST(a tampered aes-256-gcm frame closes the connection) {
  if (!noise::aesgcm_available())
    return; // nothing to switch to on this CPU (the test above covers it)
  connect();
  CAF_REQUIRE(alice->transport_cipher() == noise::cipher_kind::aesgcm);
  auto m = text("tampered");
  CAF_REQUIRE_EQUAL(alice->send(m, 1), ec::none);
  pump([](bytes& x) { x.back() ^= 0x01; });
  CAF_REQUIRE(b.closed.has_value());
  CAF_CHECK_EQUAL(b.closed->reason, ec::decrypt_failed);
  CAF_CHECK(b.messages.empty());
}

CAF_TEST(small messages share frames) {
  connect();
  wire_bytes = 0;
  for (int i = 0; i < 1000; ++i) {
    bytes m(64, static_cast<uint8_t>(i));
    CAF_REQUIRE_EQUAL(alice->send(m, 2), ec::none);
  }
  pump();
  CAF_REQUIRE_EQUAL(b.messages.size(), 1000u);
  // 64 bytes + 4 bytes of item header each; frames add 18 bytes each, and
  // about 950 messages fit one frame: far below one frame per message.
  CAF_CHECK_LESS(wire_bytes, 1000u * (64 + 4) + 10 * 18);
}

CAF_TEST(large messages are fragmented and reassembled) {
  cfg.max_message_size = 8 * 1024 * 1024;
  start();
  pump();
  bytes big(5 * 1024 * 1024 + 17);
  randombytes_buf(big.data(), big.size());
  auto copy = big;
  bytes empty;
  CAF_REQUIRE_EQUAL(alice->send(big, 3), ec::none);
  CAF_REQUIRE_EQUAL(alice->send(empty, 3), ec::none);
  pump();
  CAF_REQUIRE_EQUAL(b.messages.size(), 2u);
  CAF_CHECK(b.messages[0] == copy);
  CAF_CHECK(b.messages[1].empty());
}

CAF_TEST(urgent messages overtake bulk ones) {
  cfg.max_message_size = 4 * 1024 * 1024;
  connect();
  bytes bulk(3 * 1024 * 1024, 7);
  auto urgent = text("urgent");
  CAF_REQUIRE_EQUAL(alice->send(bulk, 3), ec::none);
  // Only part of the bulk message leaves before the urgent one is queued.
  bytes partial;
  alice->poll_transmit(partial, 100 * 1024, now);
  bob->handle_data(partial.data(), partial.size(), now);
  CAF_REQUIRE_EQUAL(alice->send(urgent, 0), ec::none);
  pump();
  CAF_REQUIRE_EQUAL(b.messages.size(), 2u);
  CAF_CHECK(b.messages[0] == text("urgent"));
  CAF_CHECK_EQUAL(b.messages[1].size(), 3u * 1024 * 1024);
}

CAF_TEST(too large a message is refused and handed back) {
  cfg.max_message_size = 1000;
  connect();
  bytes m(1001, 1);
  CAF_CHECK_EQUAL(alice->send(m, 1), ec::message_too_large);
  CAF_CHECK_EQUAL(m.size(), 1001u); // the caller still holds the data
}

CAF_TEST(a peer that sends more than our maximum is cut off) {
  session_config small = cfg;
  small.max_message_size = 1000;
  session_config large = cfg;
  large.max_message_size = 100000;
  start(large, small);
  pump();
  bytes m(5000, 1);
  CAF_REQUIRE_EQUAL(alice->send(m, 1), ec::none);
  pump();
  CAF_REQUIRE(b.closed.has_value());
  CAF_CHECK_EQUAL(b.closed->reason, ec::message_too_large);
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::message_too_large);
  CAF_CHECK(a.closed->by_peer);
}

CAF_TEST(the send queue is bounded) {
  cfg.send_queue_limit = 10000;
  connect();
  bytes m(6000, 1);
  CAF_CHECK_EQUAL(alice->send(m, 1), ec::none);
  bytes m2(6000, 1);
  CAF_CHECK_EQUAL(alice->send(m2, 1), ec::send_queue_full);
  CAF_CHECK_EQUAL(m2.size(), 6000u);
  pump();
  CAF_CHECK_EQUAL(alice->send(m2, 1), ec::none);
}

CAF_TEST(windowed service messages have a bound of their own) {
  connect();
  // Best effort ones (discovery) stop at 256 KiB queued.
  size_t best_effort = 0;
  for (int i = 0; i < 100; ++i) {
    if (alice->send_service(3, bytes(16000, 3)) != ec::none)
      break;
    ++best_effort;
  }
  CAF_CHECK_EQUAL(best_effort, 16u);
  // Windowed ones (relay circuits, bounded by their own windows) still
  // queue: four circuits' full 256 KiB windows, and in order.
  for (int i = 0; i < 64; ++i) {
    bytes body(16000, static_cast<uint8_t>(i));
    CAF_REQUIRE_EQUAL(alice->send_service(5, std::move(body), true), ec::none);
  }
  CAF_CHECK_EQUAL(alice->send_service(3, bytes(16000, 3)), ec::send_queue_full);
  pump();
  CAF_REQUIRE_EQUAL(b.services.size(), 80u);
  for (size_t i = 0; i < 16; ++i)
    CAF_CHECK(b.services[i].service == 3);
  for (size_t i = 16; i < 80; ++i)
    CAF_CHECK(b.services[i].service == 5 && b.services[i].body.size() == 16000
              && b.services[i].body[0] == static_cast<uint8_t>(i - 16));
  // Sent, the best effort share is free again.
  CAF_CHECK_EQUAL(alice->send_service(3, bytes(16000, 3)), ec::none);
  // Past 16 MiB even windowed ones are refused (an end ignoring its window).
  ec last = ec::none;
  for (int i = 0; i < 1100 && last == ec::none; ++i)
    last = alice->send_service(5, bytes(16000, 5), true);
  CAF_CHECK_EQUAL(last, ec::send_queue_full);
}

CAF_TEST(different networks cannot connect) {
  session_config other = cfg;
  other.network = "other-net";
  start(cfg, other);
  pump();
  CAF_CHECK(!a.established);
  CAF_CHECK(!b.established);
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::handshake_failed);
}

CAF_TEST(a node cannot connect to itself) {
  alice.emplace(cfg, alice_id, true, now);
  bob.emplace(cfg, alice_id, false, now);
  pump();
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::self_connection);
}

CAF_TEST(a tampered transport frame closes the connection with a reason) {
  connect();
  auto m = text("hello");
  CAF_REQUIRE_EQUAL(alice->send(m, 1), ec::none);
  pump([](bytes& wire) { wire[wire.size() - 1] ^= 0x40; });
  CAF_CHECK(b.messages.empty());
  CAF_REQUIRE(b.closed.has_value());
  CAF_CHECK_EQUAL(b.closed->reason, ec::decrypt_failed);
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::decrypt_failed);
  CAF_CHECK(a.closed->by_peer);
}

CAF_TEST(a tampered handshake fails the handshake) {
  start();
  int n = 0;
  pump([&](bytes& wire) {
    if (++n == 2) // message 3: the initiator's identity
      wire[10] ^= 1;
  });
  CAF_CHECK(!b.established);
  CAF_REQUIRE(b.closed.has_value());
  CAF_CHECK_EQUAL(b.closed->reason, ec::handshake_failed);
}

CAF_TEST(garbage instead of a handshake is refused) {
  bob.emplace(cfg, bob_id, false, now);
  bytes garbage(200, 0x41);
  bob->handle_data(garbage.data(), garbage.size(), now);
  drain(*bob, b);
  CAF_REQUIRE(b.closed.has_value());
  // 0x4141 is larger than any handshake message may be.
  CAF_CHECK_EQUAL(b.closed->reason, ec::frame_too_large);
}

CAF_TEST(a wrong protocol version is named) {
  bob.emplace(cfg, bob_id, false, now);
  // A well-formed message 1 (32-byte key) with version 9 as its payload.
  bytes msg{0, 33};
  msg.resize(2 + 32, 0x09);
  msg.push_back(9);
  bob->handle_data(msg.data(), msg.size(), now);
  drain(*bob, b);
  CAF_REQUIRE(b.closed.has_value());
  CAF_CHECK_EQUAL(b.closed->reason, ec::protocol_version_mismatch);
  CAF_CHECK_EQUAL(bob->peer_version(), 9);
  // Bob tells the initiator which version he speaks, in the clear.
  bytes reply;
  bob->poll_transmit(reply, 1 << 20, now);
  CAF_CHECK(reply == bytes({0, 2, 0xff, protocol_version}));
}

CAF_TEST(a message 1 whose payload is not exactly one byte is a version mismatch) {
  // PROTOCOL.md 3.2: the clear payload is the version, one byte.
  bob.emplace(cfg, bob_id, false, now);
  bytes msg{0, 34};
  msg.resize(2 + 32, 0x09);
  msg.push_back(protocol_version);
  msg.push_back(0); // one byte too many
  bob->handle_data(msg.data(), msg.size(), now);
  drain(*bob, b);
  CAF_REQUIRE(b.closed.has_value());
  CAF_CHECK_EQUAL(b.closed->reason, ec::protocol_version_mismatch);
  bytes reply;
  bob->poll_transmit(reply, 1 << 20, now);
  CAF_CHECK(reply == bytes({0, 2, 0xff, protocol_version}));
}

CAF_TEST(a short handshake body that is no reject or abort is a truncated frame) {
  // PROTOCOL.md 2: 2 to 31 bytes, neither 0xFF nor an 0xFE abort.
  for (size_t len : {2u, 5u, 31u}) {
    b = {};
    bob.emplace(cfg, bob_id, false, now);
    bytes msg{0, static_cast<uint8_t>(len)};
    msg.resize(2 + len, 0x41);
    bob->handle_data(msg.data(), msg.size(), now);
    drain(*bob, b);
    CAF_REQUIRE(b.closed.has_value());
    CAF_CHECK_EQUAL(b.closed->reason, ec::truncated_frame);
  }
}

CAF_TEST(an initiator refused for its version says so) {
  alice.emplace(cfg, alice_id, true, now);
  bytes first;
  alice->poll_transmit(first, 1 << 20, now);
  bytes reject{0, 2, 0xff, 7}; // "I speak version 7"
  alice->handle_data(reject.data(), reject.size(), now);
  drain(*alice, a);
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::protocol_version_mismatch);
  CAF_CHECK_EQUAL(alice->peer_version(), 7);
}

CAF_TEST(a truncated handshake times out) {
  start();
  bytes first;
  alice->poll_transmit(first, 1 << 20, now);
  bob->handle_data(first.data(), first.size() / 2, now);
  drain(*bob, b);
  CAF_CHECK(!b.closed.has_value());
  now += cfg.handshake_timeout;
  bob->handle_timeout(now);
  drain(*bob, b);
  CAF_REQUIRE(b.closed.has_value());
  CAF_CHECK_EQUAL(b.closed->reason, ec::handshake_timeout);
}

CAF_TEST(keepalives hold an idle connection open and measure the RTT) {
  connect();
  advance(60s);
  CAF_CHECK(!a.closed.has_value());
  CAF_CHECK(!b.closed.has_value());
  CAF_CHECK(alice->last_rtt().has_value());
}

CAF_TEST(a silent peer times out) {
  connect();
  // Bob vanishes: only Alice's clock moves and nothing reaches her.
  auto deadline = now + cfg.peer_timeout;
  for (int i = 0; i < 1000 && !a.closed; ++i) {
    now = alice->next_deadline();
    alice->handle_timeout(now);
    bytes discard;
    alice->poll_transmit(discard, 1 << 20, now);
    drain(*alice, a);
  }
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::peer_timeout);
  CAF_CHECK(now <= deadline);
}

CAF_TEST(close delivers queued messages first and names the reason) {
  connect();
  for (int i = 0; i < 10; ++i) {
    auto m = text(std::to_string(i));
    CAF_REQUIRE_EQUAL(alice->send(m, 2), ec::none);
  }
  alice->close(ec::dropped);
  auto late = text("late");
  CAF_CHECK_EQUAL(alice->send(late, 2), ec::not_connected);
  pump();
  CAF_CHECK_EQUAL(b.messages.size(), 10u);
  CAF_REQUIRE(b.closed.has_value());
  CAF_CHECK_EQUAL(b.closed->reason, ec::dropped);
  CAF_CHECK(b.closed->by_peer);
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK(!a.closed->by_peer);
}

CAF_TEST(what the peer sent before it saw our close still arrives) {
  connect();
  auto late = text("sent while the close was in flight");
  CAF_REQUIRE_EQUAL(bob->send(late, 1), ec::none);
  alice->close(ec::duplicate_connection);
  pump();
  CAF_REQUIRE_EQUAL(a.messages.size(), 1u);
  CAF_CHECK(a.messages[0] == text("sent while the close was in flight"));
  CAF_REQUIRE(a.closed && b.closed);
  CAF_CHECK_EQUAL(a.closed->reason, ec::duplicate_connection);
  CAF_CHECK_EQUAL(b.closed->reason, ec::duplicate_connection);
  CAF_CHECK(b.closed->by_peer);
}

CAF_TEST(a peer that never answers our close is given up on) {
  connect();
  alice->close(ec::dropped);
  bytes out;
  alice->poll_transmit(out, 1 << 20, now); // our CLOSE; Bob never reads it
  drain(*alice, a);
  CAF_CHECK(!a.closed.has_value());
  CAF_CHECK(alice->current_state() == stream_session::state::closing);
  now = alice->next_deadline();
  alice->handle_timeout(now);
  drain(*alice, a);
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::dropped);
}

CAF_TEST(rekeying keeps both directions in step) {
  cfg.rekey_interval = 4;
  connect();
  for (int round = 0; round < 50; ++round) {
    auto m = text("round " + std::to_string(round));
    CAF_REQUIRE_EQUAL(alice->send(m, 1), ec::none);
    auto r = text("reply " + std::to_string(round));
    CAF_REQUIRE_EQUAL(bob->send(r, 1), ec::none);
    pump(); // one frame per round and direction: a rekey every 4 rounds
  }
  CAF_CHECK_EQUAL(b.messages.size(), 50u);
  CAF_CHECK_EQUAL(a.messages.size(), 50u);
  CAF_CHECK(!a.closed && !b.closed);
}

CAF_TEST(the stream ending mid-handshake is a failed handshake) {
  start();
  bytes first;
  alice->poll_transmit(first, 1 << 20, now);
  bob->handle_data(first.data(), first.size(), now);
  bob->handle_stream_end(ec::closed_by_peer);
  drain(*bob, b);
  CAF_REQUIRE(b.closed.has_value());
  CAF_CHECK_EQUAL(b.closed->reason, ec::handshake_failed);
}

CAF_TEST(a handshake given up by either side ends the other half with its reason) {
  // After message 1 (alice gives up) and after message 2 (bob gives up, and
  // then alice); neither side takes it for a failed handshake.
  for (int stage = 0; stage < 3; ++stage) {
    a = {};
    b = {};
    start();
    bytes m1;
    alice->poll_transmit(m1, 1 << 20, now);
    bob->handle_data(m1.data(), m1.size(), now);
    if (stage >= 1) {
      bytes m2;
      bob->poll_transmit(m2, 1 << 20, now);
      if (stage == 2)
        alice->handle_data(m2.data(), m2.size(), now); // alice is done, bob waits for 3
      else
        m2.clear();
    }
    auto& quitter = stage == 1 ? *bob : *alice;
    auto& other = stage == 1 ? *alice : *bob;
    drain(*alice, a);
    drain(*bob, b);
    if (stage == 2) {
      // alice is established, so her close is a transport CLOSE, which bob
      // cannot read yet: bob gives up instead.
      CAF_REQUIRE(a.established && !b.established);
      bob->close(ec::shutting_down);
      bytes abort;
      bob->poll_transmit(abort, 1 << 20, now);
      CAF_CHECK(abort == bytes({0, 2, 0xfe, static_cast<uint8_t>(ec::shutting_down)}));
      alice->handle_data(abort.data(), abort.size(), now);
      drain(*alice, a);
      CAF_REQUIRE(a.closed.has_value()); // established, but the handshake was not over
      CAF_CHECK_EQUAL(a.closed->reason, ec::shutting_down);
      continue;
    }
    quitter.close(ec::duplicate_connection);
    bytes abort;
    quitter.poll_transmit(abort, 1 << 20, now);
    CAF_CHECK(abort == bytes({0, 2, 0xfe, static_cast<uint8_t>(ec::duplicate_connection)}));
    other.handle_data(abort.data(), abort.size(), now);
    drain(*alice, a);
    drain(*bob, b);
    auto& other_state = stage == 1 ? a : b;
    CAF_REQUIRE(other_state.closed.has_value());
    CAF_CHECK_EQUAL(other_state.closed->reason, ec::duplicate_connection);
    CAF_CHECK(other_state.closed->by_peer);
    CAF_CHECK(other.current_state() == stream_session::state::closed);
  }
}

CAF_TEST(an abort without a reason is a close by the peer) {
  start();
  bytes m1;
  alice->poll_transmit(m1, 1 << 20, now);
  bob->handle_data(m1.data(), m1.size(), now);
  bytes abort{0, 2, 0xfe, 0};
  alice->handle_data(abort.data(), abort.size(), now);
  drain(*alice, a);
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::closed_by_peer);
}

CAF_TEST(a refusal before the handshake names its reason and retry after) {
  // A responder refused the connection before any cryptography: the frame
  // comes in place of message 2, with a retry-after (docs/PROTOCOL.md §3.5).
  auto refusal = handshake_abort_frame(ec::rate_limited, 1500);
  CAF_CHECK(refusal == bytes({0, 6, 0xfe, static_cast<uint8_t>(ec::rate_limited), 0, 0, 0x05, 0xdc}));
  CAF_CHECK(handshake_abort_frame(ec::blacklisted) == bytes({0, 2, 0xfe, 37}));
  start();
  bytes m1;
  alice->poll_transmit(m1, 1 << 20, now);
  alice->handle_data(refusal.data(), refusal.size(), now);
  drain(*alice, a);
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::rate_limited);
  CAF_CHECK(a.closed->by_peer);
  CAF_CHECK_EQUAL(a.closed->retry_after_ms, 1500u);
  // A body of 3 to 5 or 7 bytes starting 0xfe is no abort: a failed handshake.
  for (size_t len : {3u, 5u, 7u}) {
    a = {};
    start();
    alice->poll_transmit(m1, 1 << 20, now);
    bytes odd{0, static_cast<uint8_t>(len), 0xfe};
    odd.resize(2 + len, 0);
    odd[3] = static_cast<uint8_t>(ec::rate_limited);
    alice->handle_data(odd.data(), odd.size(), now);
    drain(*alice, a);
    CAF_REQUIRE(a.closed.has_value());
    CAF_CHECK_NOT_EQUAL(a.closed->reason, ec::rate_limited);
    CAF_CHECK_EQUAL(a.closed->retry_after_ms, 0u);
  }
}

CAF_TEST(a stream that ends before its first byte is closed not failed) {
  // A dial given up as it connected: the responder heard nothing.
  start();
  bob->handle_stream_end(ec::closed_by_peer);
  drain(*bob, b);
  CAF_REQUIRE(b.closed.has_value());
  CAF_CHECK_EQUAL(b.closed->reason, ec::closed_by_peer);
  // An initiator whose responder hung up without a word was refused: a
  // failed handshake, as before.
  alice->handle_stream_end(ec::closed_by_peer);
  drain(*alice, a);
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::handshake_failed);
}

CAF_TEST(a simultaneous open settles the roles and connects) {
  // Both sides dial (TCP simultaneous open): each sends message 1. The side
  // with the smaller ephemeral key turns responder, whatever the order of
  // arrival; ten rounds give both orders of the keys.
  session_config sim = cfg;
  sim.simultaneous_open = true;
  int alice_stayed_initiator = 0;
  for (int round = 0; round < 10; ++round) {
    a = {};
    b = {};
    alice.emplace(sim, alice_id, true, now);
    bob.emplace(sim, bob_id, true, now);
    pump();
    CAF_REQUIRE(a.established && b.established);
    CAF_CHECK_NOT_EQUAL(alice->initiator(), bob->initiator());
    alice_stayed_initiator += alice->initiator() ? 1 : 0;
    CAF_CHECK_EQUAL(alice->remote(), bob_id.id());
    CAF_CHECK_EQUAL(bob->remote(), alice_id.id());
    CAF_CHECK(alice->handshake_hash() == bob->handshake_hash());
    bytes m = text("after a simultaneous open");
    CAF_REQUIRE_EQUAL(alice->send(m, 0), ec::none);
    pump();
    CAF_REQUIRE_EQUAL(b.messages.size(), 1u);
  }
  CAF_MESSAGE("alice stayed initiator in " << alice_stayed_initiator << " of 10 rounds");
}

CAF_TEST(a simultaneous-open dial still meets an ordinary responder) {
  session_config sim = cfg;
  sim.simultaneous_open = true;
  start(sim, cfg);
  pump();
  CAF_REQUIRE(a.established && b.established);
  CAF_CHECK(alice->initiator());
}

CAF_TEST(a message 1 arriving late still settles the roles) {
  // Bob's message 1 reaches alice only after alice's reached bob.
  session_config sim = cfg;
  sim.simultaneous_open = true;
  alice.emplace(sim, alice_id, true, now);
  bob.emplace(sim, bob_id, true, now);
  bytes ab, ba;
  alice->poll_transmit(ab, 1 << 20, now);
  bob->poll_transmit(ba, 1 << 20, now);
  bob->handle_data(ab.data(), ab.size(), now);
  bytes bob_reply;
  bob->poll_transmit(bob_reply, 1 << 20, now);
  ba.insert(ba.end(), bob_reply.begin(), bob_reply.end()); // message 1, then maybe message 2
  alice->handle_data(ba.data(), ba.size(), now);
  pump();
  drain(*alice, a);
  drain(*bob, b);
  CAF_REQUIRE(a.established && b.established);
  CAF_CHECK_NOT_EQUAL(alice->initiator(), bob->initiator());
}

CAF_TEST(our own message 1 reflected back is a self connection) {
  session_config sim = cfg;
  sim.simultaneous_open = true;
  alice.emplace(sim, alice_id, true, now);
  bytes mine;
  alice->poll_transmit(mine, 1 << 20, now);
  alice->handle_data(mine.data(), mine.size(), now);
  drain(*alice, a);
  CAF_REQUIRE(a.closed.has_value());
  CAF_CHECK_EQUAL(a.closed->reason, ec::self_connection);
}

CAF_TEST(without simultaneous open two initiators fail the handshake) {
  alice.emplace(cfg, alice_id, true, now);
  bob.emplace(cfg, bob_id, true, now);
  pump();
  CAF_CHECK(!a.established && !b.established);
  CAF_CHECK(a.closed.has_value() || b.closed.has_value());
}

CAF_TEST_FIXTURE_SCOPE_END()
