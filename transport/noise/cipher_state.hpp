#pragma once

#include "transport/noise/constants.hpp"
#include "messages/bytes.hpp"
#include "messages/ec.hpp"

#include <cstdint>

namespace crust::noise {

/// Noise's cipher functions: ChaChaPoly (the default, and always the
/// handshake's) or AESGCM (AES-256-GCM, for transport frames when both ends
/// have AES instructions and agreed in their handshakes, PROTOCOL.md §3.4).
enum class cipher_kind : uint8_t {
  chachapoly = 0,
  aesgcm = 1,
};

/// "chachapoly" or "aesgcm".
const char* to_string(cipher_kind x);

/// True when this CPU runs libsodium's AES-256-GCM (AES-NI and CLMUL);
/// libsodium has none without them.
bool aesgcm_available();

/// Noise's CipherState: a key, a 64-bit nonce and the cipher functions
/// (ChaCha20-Poly1305 IETF unless switched).
class cipher_state {
public:
  /// Installs `k` and resets the nonce to zero.
  void initialize_key(const key& k);

  /// Switches the cipher functions, keeping key and nonce: after a
  /// handshake that agreed on AESGCM for the transport phase. AESGCM needs
  /// `aesgcm_available()`; without it this fails with `unsupported`.
  ec use(cipher_kind c);

  cipher_kind cipher() const { return cipher_; }

  bool has_key() const { return has_key_; }

  uint64_t nonce() const { return n_; }
  void set_nonce(uint64_t n) { n_ = n; }

  /// Appends the encryption of `plaintext` (with `ad` as associated data) to
  /// `out`: ciphertext followed by the 16-byte tag, or the plaintext itself when
  /// no key is set. Fails with `nonce_exhausted` after 2^64-1 messages.
  ec encrypt_with_ad(const uint8_t* ad, size_t ad_len, const uint8_t* plaintext,
                     size_t len, bytes& out);

  /// Appends the decryption of `ciphertext` to `out`. Fails with
  /// `decrypt_failed` on a bad tag (then the nonce does not advance) and with
  /// `truncated_frame` when `len` is shorter than a tag.
  ec decrypt_with_ad(const uint8_t* ad, size_t ad_len, const uint8_t* ciphertext,
                     size_t len, bytes& out);

  /// Transport-message forms without associated data, working in place:
  /// `encrypt_in_place` writes the tag right after the `len` plaintext bytes
  /// (the caller leaves room); `decrypt_in_place` takes ciphertext and tag.
  /// Both require a key.
  ec encrypt_in_place(uint8_t* data, size_t len);
  ec decrypt_in_place(uint8_t* data, size_t len);

  /// Noise's Rekey(): the new key is the first 32 bytes of ENCRYPT(k, maxnonce,
  /// zerolen, zeros).
  void rekey();

private:
  /// The AEAD itself, in place: the tag goes right after (seal) or is read
  /// from right after (open) the `len` (seal) / `len - tag_len` (open) bytes.
  ec seal(const uint8_t* ad, size_t ad_len, uint8_t* data, size_t len);
  ec open(const uint8_t* ad, size_t ad_len, uint8_t* data, size_t len);

  key k_{};
  bool has_key_ = false;
  uint64_t n_ = 0;
  cipher_kind cipher_ = cipher_kind::chachapoly;
};

} // namespace crust::noise
