#include "transport/noise/symmetric_state.hpp"

#include <sodium.h>

#include <cstring>

namespace crust::noise {

namespace {

digest hmac(const uint8_t* key_bytes, size_t key_size, const uint8_t* a, size_t a_len,
            const uint8_t* b = nullptr, size_t b_len = 0) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key_bytes, key_size);
  crypto_auth_hmacsha256_update(&st, a, a_len);
  if (b_len > 0)
    crypto_auth_hmacsha256_update(&st, b, b_len);
  digest out;
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof(st));
  return out;
}

} // namespace

std::pair<digest, digest> hkdf2(const digest& chaining_key, const uint8_t* input,
                                size_t len) {
  auto temp_key = hmac(chaining_key.data(), chaining_key.size(), input, len);
  const uint8_t one = 0x01;
  const uint8_t two = 0x02;
  auto out1 = hmac(temp_key.data(), temp_key.size(), &one, 1);
  auto out2 = hmac(temp_key.data(), temp_key.size(), out1.data(), out1.size(), &two, 1);
  sodium_memzero(temp_key.data(), temp_key.size());
  return {out1, out2};
}

symmetric_state::symmetric_state(std::string_view protocol_name) {
  if (protocol_name.size() <= hash_len) {
    std::memcpy(h_.data(), protocol_name.data(), protocol_name.size());
  } else {
    crypto_hash_sha256(h_.data(), reinterpret_cast<const uint8_t*>(protocol_name.data()),
                       protocol_name.size());
  }
  ck_ = h_;
}

void symmetric_state::mix_key(const uint8_t* input, size_t len) {
  auto [ck, temp_k] = hkdf2(ck_, input, len);
  ck_ = ck;
  key k;
  std::memcpy(k.data(), temp_k.data(), key_len);
  cipher_.initialize_key(k);
  sodium_memzero(k.data(), k.size());
  sodium_memzero(temp_k.data(), temp_k.size());
}

void symmetric_state::mix_hash(const uint8_t* data, size_t len) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, h_.data(), h_.size());
  crypto_hash_sha256_update(&st, data, len);
  crypto_hash_sha256_final(&st, h_.data());
}

ec symmetric_state::encrypt_and_hash(const uint8_t* plaintext, size_t len, bytes& out) {
  auto offset = out.size();
  if (auto err = cipher_.encrypt_with_ad(h_.data(), h_.size(), plaintext, len, out);
      err != ec::none)
    return err;
  mix_hash(out.data() + offset, out.size() - offset);
  return ec::none;
}

ec symmetric_state::decrypt_and_hash(const uint8_t* ciphertext, size_t len, bytes& out) {
  // h must be mixed with the ciphertext after decrypting with the old h as AD.
  auto h_before = h_;
  if (auto err = cipher_.decrypt_with_ad(h_before.data(), h_before.size(), ciphertext, len,
                                         out);
      err != ec::none)
    return err;
  mix_hash(ciphertext, len);
  return ec::none;
}

std::pair<cipher_state, cipher_state> symmetric_state::split() const {
  auto [k1, k2] = hkdf2(ck_, nullptr, 0);
  key key1, key2;
  std::memcpy(key1.data(), k1.data(), key_len);
  std::memcpy(key2.data(), k2.data(), key_len);
  cipher_state c1, c2;
  c1.initialize_key(key1);
  c2.initialize_key(key2);
  sodium_memzero(key1.data(), key1.size());
  sodium_memzero(key2.data(), key2.size());
  return {c1, c2};
}

} // namespace crust::noise
