#include "transport/noise/cipher_state.hpp"

#include <sodium.h>

#include <limits>

namespace crust::noise {

namespace {

constexpr uint64_t reserved_nonce = std::numeric_limits<uint64_t>::max();

constexpr size_t nonce_len = 12;
static_assert(crypto_aead_chacha20poly1305_IETF_NPUBBYTES == nonce_len);
static_assert(crypto_aead_aes256gcm_NPUBBYTES == nonce_len);
static_assert(crypto_aead_aes256gcm_KEYBYTES == key_len && crypto_aead_aes256gcm_ABYTES == tag_len);

/// Noise's nonces: 32 zero bits, then the counter, little-endian for
/// ChaChaPoly and big-endian for AESGCM (Noise §12.3, §12.4).
void make_nonce(cipher_kind c, uint64_t n, uint8_t (&out)[nonce_len]) {
  for (int i = 0; i < 4; ++i)
    out[i] = 0;
  for (int i = 0; i < 8; ++i)
    out[c == cipher_kind::chachapoly ? 4 + i : 11 - i] = static_cast<uint8_t>(n >> (8 * i));
}

/// ENCRYPT detached, in place: ciphertext over `data`, the tag to `tag`.
void seal_with(cipher_kind c, const key& k, const uint8_t (&nonce)[nonce_len], const uint8_t* ad,
               size_t ad_len, uint8_t* data, size_t len, uint8_t* tag) {
  unsigned long long tag_size = 0;
  if (c == cipher_kind::aesgcm)
    crypto_aead_aes256gcm_encrypt_detached(data, tag, &tag_size, data, len, ad, ad_len, nullptr,
                                           nonce, k.data());
  else
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(data, tag, &tag_size, data, len, ad, ad_len,
                                                       nullptr, nonce, k.data());
}

} // namespace

const char* to_string(cipher_kind x) {
  return x == cipher_kind::aesgcm ? "aesgcm" : "chachapoly";
}

bool aesgcm_available() {
  static const bool available = sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() == 1;
  return available;
}

ec cipher_state::use(cipher_kind c) {
  if (c == cipher_kind::aesgcm && !aesgcm_available())
    return ec::unsupported;
  cipher_ = c;
  return ec::none;
}

keypair keypair::generate() {
  key secret;
  randombytes_buf(secret.data(), secret.size());
  return from_secret(secret);
}

keypair keypair::from_secret(const key& secret) {
  keypair result;
  result.secret = secret;
  crypto_scalarmult_base(result.pub.data(), secret.data());
  return result;
}

void cipher_state::initialize_key(const key& k) {
  k_ = k;
  has_key_ = true;
  n_ = 0;
}

ec cipher_state::seal(const uint8_t* ad, size_t ad_len, uint8_t* data, size_t len) {
  if (n_ == reserved_nonce)
    return ec::nonce_exhausted;
  uint8_t nonce[nonce_len];
  make_nonce(cipher_, n_, nonce);
  seal_with(cipher_, k_, nonce, ad, ad_len, data, len, data + len);
  ++n_;
  return ec::none;
}

ec cipher_state::open(const uint8_t* ad, size_t ad_len, uint8_t* data, size_t len) {
  if (len < tag_len)
    return ec::truncated_frame;
  if (n_ == reserved_nonce)
    return ec::nonce_exhausted;
  uint8_t nonce[nonce_len];
  make_nonce(cipher_, n_, nonce);
  auto plain = len - tag_len;
  int rc = cipher_ == cipher_kind::aesgcm
             ? crypto_aead_aes256gcm_decrypt_detached(data, nullptr, data, plain, data + plain, ad,
                                                      ad_len, nonce, k_.data())
             : crypto_aead_chacha20poly1305_ietf_decrypt_detached(data, nullptr, data, plain,
                                                                  data + plain, ad, ad_len, nonce,
                                                                  k_.data());
  if (rc != 0)
    return ec::decrypt_failed;
  ++n_;
  return ec::none;
}

ec cipher_state::encrypt_with_ad(const uint8_t* ad, size_t ad_len,
                                 const uint8_t* plaintext, size_t len, bytes& out) {
  auto offset = out.size();
  out.insert(out.end(), plaintext, plaintext + len);
  if (!has_key_)
    return ec::none;
  out.resize(offset + len + tag_len);
  if (auto err = seal(ad, ad_len, out.data() + offset, len); err != ec::none) {
    out.resize(offset);
    return err;
  }
  return ec::none;
}

ec cipher_state::decrypt_with_ad(const uint8_t* ad, size_t ad_len,
                                 const uint8_t* ciphertext, size_t len, bytes& out) {
  auto offset = out.size();
  out.insert(out.end(), ciphertext, ciphertext + len);
  if (!has_key_)
    return ec::none;
  if (auto err = open(ad, ad_len, out.data() + offset, len); err != ec::none) {
    out.resize(offset);
    return err;
  }
  out.resize(offset + len - tag_len);
  return ec::none;
}

ec cipher_state::encrypt_in_place(uint8_t* data, size_t len) {
  return has_key_ ? seal(nullptr, 0, data, len) : ec::handshake_failed;
}

ec cipher_state::decrypt_in_place(uint8_t* data, size_t len) {
  return has_key_ ? open(nullptr, 0, data, len) : ec::handshake_failed;
}

void cipher_state::rekey() {
  uint8_t nonce[nonce_len];
  make_nonce(cipher_, reserved_nonce, nonce);
  uint8_t out[key_len + tag_len] = {}; // zeros, encrypted in place
  seal_with(cipher_, k_, nonce, nullptr, 0, out, key_len, out + key_len);
  std::copy(out, out + key_len, k_.begin());
  sodium_memzero(out, sizeof(out));
}

} // namespace crust::noise
