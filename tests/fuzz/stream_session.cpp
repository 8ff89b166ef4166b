// Fuzzes the TCP protocol core as a responder (and as an initiator after its
// first message): the frame decoder, the Noise handshake reader, the
// identity payload checks — whatever arrives first from an unknown peer.
// The first input byte picks the chunk size the bytes arrive in, and whether
// reads are handed over whole (adopted) or copied, or alternate.
#include "transport/stream_session.hpp"

#include <sodium.h>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = sodium_init() >= 0;
  static const crust::identity self = crust::identity::generate();
  if (!ready || size == 0)
    return 0;
  crust::session_config cfg;
  auto now = crust::stream_session::clock::now();
  size_t chunk = 1 + data[0] % 64;
  int mode = data[0] >> 6; // 0: copied, 1: adopted, 2-3: alternating
  for (bool initiator : {false, true}) {
    crust::stream_session s{cfg, self, initiator, now};
    for (size_t pos = 1; pos < size; pos += chunk) {
      auto n = std::min(chunk, size - pos);
      if (mode == 0 || (mode >= 2 && (pos / chunk) % 2 == 0))
        s.handle_data(data + pos, n, now);
      else
        s.handle_data(crust::bytes(data + pos, data + pos + n), now);
      crust::bytes out;
      s.poll_transmit(out, 1 << 20, now);
      while (s.poll_event()) {
      }
    }
  }
  return 0;
}
