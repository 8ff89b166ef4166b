// The bounds: libsodium's single-core AEAD rate and the cost of the public-key
// operations a handshake needs; and crust's handshake rate, run sans-I/O (two
// sessions wired back to back on one core, no sockets).

#include "report.hpp"

#include "transport/identity.hpp"
#include "transport/noise/constants.hpp"
#include "transport/stream_session.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

namespace bench {

namespace {

/// Runs `op` repeatedly for about `budget` and returns operations per second.
template <class F>
double rate(std::chrono::milliseconds budget, F op) {
  size_t n = 0;
  auto start = now_s();
  auto end = start + std::chrono::duration<double>(budget).count();
  double t = start;
  while (t < end) {
    for (int i = 0; i < 16; ++i)
      op();
    n += 16;
    t = now_s();
  }
  return static_cast<double>(n) / (t - start);
}

} // namespace

void run_crypto(const options& opt, results& out) {
  auto budget = opt.quick ? std::chrono::milliseconds(50) : std::chrono::milliseconds(500);
  // AEAD: what any encrypted transport is bounded by on one core.
  for (size_t size : {size_t{1024}, size_t{64 * 1024}}) {
    std::vector<uint8_t> buf(size + 16);
    uint8_t key[32] = {1}, nonce[12] = {0};
    unsigned long long clen = 0;
    auto ops = rate(budget, [&] {
      crypto_aead_chacha20poly1305_ietf_encrypt(buf.data(), &clen, buf.data(), size, nullptr, 0,
                                                nullptr, nonce, key);
      ++nonce[0];
    });
    out.push_back({"aead_rate", size, "libsodium", ops * static_cast<double>(size) / 1e6, "MB/s"});
  }
  // AES-256-GCM, which crust negotiates when both ends have AES instructions.
  if (crypto_aead_aes256gcm_is_available()) {
    size_t size = 64 * 1024;
    std::vector<uint8_t> buf(size + 16);
    uint8_t key[32] = {1}, nonce[12] = {0};
    unsigned long long clen = 0;
    auto ops = rate(budget, [&] {
      crypto_aead_aes256gcm_encrypt(buf.data(), &clen, buf.data(), size, nullptr, 0, nullptr, nonce,
                                    key);
      ++nonce[11];
    });
    out.push_back({"aesgcm_rate", size, "libsodium", ops * static_cast<double>(size) / 1e6, "MB/s"});
  }
  // Public-key operations.
  auto kp = crust::noise::keypair::generate();
  auto other = crust::noise::keypair::generate();
  uint8_t shared[32];
  double base_ops = rate(budget, [&] { crypto_scalarmult_base(shared, kp.secret.data()); });
  double dh_ops = rate(budget, [&] {
    [[maybe_unused]] auto r = crypto_scalarmult(shared, kp.secret.data(), other.pub.data());
  });
  auto id = crust::identity::generate();
  uint8_t msg[57] = {};
  auto sig = id.sign(msg, sizeof(msg));
  double sign_ops = rate(budget, [&] { sig = id.sign(msg, sizeof(msg)); });
  double verify_ops = rate(budget, [&] {
    [[maybe_unused]] auto ok = crust::identity::verify(id.id(), msg, sizeof(msg), sig);
  });
  out.push_back({"x25519_ops", 0, "libsodium", dh_ops, "ops/s"});
  out.push_back({"ed25519_sign_ops", 0, "libsodium", sign_ops, "ops/s"});
  out.push_back({"ed25519_verify_ops", 0, "libsodium", verify_ops, "ops/s"});
  // One crust handshake, both ends: 2 ephemeral key generations, 6 DH (ee,
  // es, se per side) and 2 verifications of the peer's signature over its
  // static key (each node makes its static key and that signature once).
  // The bound is what those cost on one core.
  double per_handshake = 2 / base_ops + 6 / dh_ops + 2 / verify_ops;
  out.push_back({"handshakes_per_s", 0, "bound", 1 / per_handshake, "handshakes/s"});
  // Connect to first message can be no faster than the crypto on the
  // handshake's critical path: Noise XX's messages are sequential, so all of
  // the DH and both verifications lie on it (ephemeral keys could be made in
  // advance).
  double critical = 6 / dh_ops + 2 / verify_ops;
  out.push_back({"setup_p50_ms", 0, "bound", critical * 1e3, "ms"});
  // Crust's whole handshake (both ends, framing and payload checks), one core.
  auto a = crust::identity::generate();
  auto b = crust::identity::generate();
  // Each end's static key and signature are made once, as a node does.
  crust::session_config a_cfg;
  crust::session_config b_cfg;
  a_cfg.credential = crust::static_credential::make(a);
  b_cfg.credential = crust::static_credential::make(b);
  auto t0 = crust::stream_session::clock::now();
  size_t failures = 0;
  double hs = rate(budget, [&] {
    crust::stream_session init(a_cfg, a, true, t0);
    crust::stream_session resp(b_cfg, b, false, t0);
    for (int round = 0; round < 4; ++round) {
      crust::bytes x, y;
      init.poll_transmit(x, 1 << 16, t0);
      if (!x.empty())
        resp.handle_data(x.data(), x.size(), t0);
      resp.poll_transmit(y, 1 << 16, t0);
      if (!y.empty())
        init.handle_data(y.data(), y.size(), t0);
    }
    if (init.current_state() != crust::stream_session::state::established
        || resp.current_state() != crust::stream_session::state::established)
      ++failures;
  });
  if (failures > 0)
    throw std::runtime_error("handshake benchmark: handshakes failed");
  out.push_back({"handshakes_per_s", 0, "crust", hs, "handshakes/s"});
}

double percentile(std::vector<double>& xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto idx = static_cast<size_t>(p / 100.0 * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(idx, xs.size() - 1)];
}

} // namespace bench
