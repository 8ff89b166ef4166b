// Fuzzes the identity payload decoder (reached after the Noise layer
// decrypted a peer's message 2 or 3).
#include "transport/handshake_payload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crust::noise::public_key key{};
  key[0] = 9;
  crust::handshake_payload out;
  (void) crust::decode_and_verify_payload(data, size, key, out);
  return 0;
}
