#include "transport/noise/handshake_state.hpp"

#include <sodium.h>

namespace crust::noise {

std::string protocol_name(std::string_view pattern) {
  return "Noise_" + std::string(pattern) + "_25519_ChaChaPoly_SHA256";
}

handshake_state::handshake_state(const handshake_pattern& pattern, bool initiator,
                                 const uint8_t* prologue, size_t prologue_len,
                                 handshake_keys keys)
  : pattern_(pattern),
    initiator_(initiator),
    sym_(protocol_name(pattern.name)),
    keys_(std::move(keys)) {
  sym_.mix_hash(prologue, prologue_len);
  // Pre-messages: the initiator's first, then the responder's. Only `s` (and
  // in principle `e`) appear there; each side hashes the public key it holds.
  auto mix_pre = [&](const std::vector<token>& tokens, bool of_initiator) {
    for (auto t : tokens) {
      bool mine = of_initiator == initiator_;
      const public_key* pk = nullptr;
      if (t == token::s)
        pk = mine ? (keys_.static_keys ? &keys_.static_keys->pub : nullptr)
                  : (keys_.remote_static ? &*keys_.remote_static : nullptr);
      else if (t == token::e)
        pk = mine ? (keys_.ephemeral ? &keys_.ephemeral->pub : nullptr)
                  : (keys_.remote_ephemeral ? &*keys_.remote_ephemeral : nullptr);
      if (pk == nullptr) {
        failed_ = true; // a pre-message key is missing: the handshake cannot run
        return;
      }
      sym_.mix_hash(pk->data(), pk->size());
    }
  };
  mix_pre(pattern_.initiator_pre, true);
  mix_pre(pattern_.responder_pre, false);
}

bool handshake_state::my_turn() const {
  return !finished() && pattern_.messages[next_].from_initiator == initiator_;
}

ec handshake_state::dh(const keypair& local, const public_key& remote) {
  uint8_t shared[dh_len];
  // libsodium rejects low-order points (all-zero output): a peer cannot force
  // a known shared secret on us.
  if (crypto_scalarmult(shared, local.secret.data(), remote.data()) != 0)
    return ec::invalid_public_key;
  sym_.mix_key(shared, dh_len);
  sodium_memzero(shared, sizeof(shared));
  return ec::none;
}

ec handshake_state::mix_dh(token t) {
  // "es": initiator's ephemeral with responder's static (seen from either side).
  auto& e = keys_.ephemeral;
  auto& s = keys_.static_keys;
  auto& re = keys_.remote_ephemeral;
  auto& rs = keys_.remote_static;
  switch (t) {
    case token::ee:
      if (!e || !re) return ec::handshake_failed;
      return dh(*e, *re);
    case token::es:
      if (initiator_) {
        if (!e || !rs) return ec::handshake_failed;
        return dh(*e, *rs);
      }
      if (!s || !re) return ec::handshake_failed;
      return dh(*s, *re);
    case token::se:
      if (initiator_) {
        if (!s || !re) return ec::handshake_failed;
        return dh(*s, *re);
      }
      if (!e || !rs) return ec::handshake_failed;
      return dh(*e, *rs);
    case token::ss:
      if (!s || !rs) return ec::handshake_failed;
      return dh(*s, *rs);
    default:
      return ec::handshake_failed;
  }
}

ec handshake_state::write_message(const uint8_t* payload, size_t len, bytes& out) {
  if (failed_ || !my_turn())
    return ec::handshake_failed;
  auto offset = out.size();
  auto fail = [&](ec err) {
    failed_ = true;
    out.resize(offset);
    return err;
  };
  for (auto t : pattern_.messages[next_].tokens) {
    switch (t) {
      case token::e: {
        if (!keys_.ephemeral)
          keys_.ephemeral = keypair::generate();
        auto& pub = keys_.ephemeral->pub;
        out.insert(out.end(), pub.begin(), pub.end());
        sym_.mix_hash(pub.data(), pub.size());
        break;
      }
      case token::s: {
        if (!keys_.static_keys)
          return fail(ec::handshake_failed);
        auto& pub = keys_.static_keys->pub;
        if (auto err = sym_.encrypt_and_hash(pub.data(), pub.size(), out); err != ec::none)
          return fail(err);
        break;
      }
      default:
        if (auto err = mix_dh(t); err != ec::none)
          return fail(err);
    }
  }
  if (auto err = sym_.encrypt_and_hash(payload, len, out); err != ec::none)
    return fail(err);
  if (out.size() - offset > max_message_len)
    return fail(ec::frame_too_large);
  ++next_;
  return ec::none;
}

ec handshake_state::read_message(const uint8_t* message, size_t len, bytes& payload) {
  if (failed_ || finished() || my_turn())
    return ec::handshake_failed;
  auto fail = [&](ec err) {
    failed_ = true;
    return err;
  };
  if (len > max_message_len)
    return fail(ec::frame_too_large);
  const uint8_t* pos = message;
  const uint8_t* end = message + len;
  for (auto t : pattern_.messages[next_].tokens) {
    switch (t) {
      case token::e: {
        if (end - pos < static_cast<ptrdiff_t>(dh_len))
          return fail(ec::truncated_frame);
        public_key re;
        std::copy(pos, pos + dh_len, re.begin());
        pos += dh_len;
        keys_.remote_ephemeral = re;
        sym_.mix_hash(re.data(), re.size());
        break;
      }
      case token::s: {
        size_t n = dh_len + (sym_.has_key() ? tag_len : 0);
        if (static_cast<size_t>(end - pos) < n)
          return fail(ec::truncated_frame);
        bytes rs;
        if (auto err = sym_.decrypt_and_hash(pos, n, rs); err != ec::none)
          return fail(err);
        pos += n;
        public_key key{};
        std::copy(rs.begin(), rs.end(), key.begin());
        keys_.remote_static = key;
        break;
      }
      default:
        if (auto err = mix_dh(t); err != ec::none)
          return fail(err);
    }
  }
  auto offset = payload.size();
  if (auto err = sym_.decrypt_and_hash(pos, static_cast<size_t>(end - pos), payload);
      err != ec::none) {
    payload.resize(offset);
    return fail(err);
  }
  ++next_;
  return ec::none;
}

std::pair<cipher_state, cipher_state> handshake_state::split() const {
  auto [c1, c2] = sym_.split();
  if (initiator_)
    return {c1, c2};
  return {c2, c1};
}

} // namespace crust::noise
