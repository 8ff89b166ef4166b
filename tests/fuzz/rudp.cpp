// Fuzzes reliable UDP's parsers: the datagram headers (INITIAL, RETRY,
// HANDSHAKE, ABORT), DATA frames, and a client session handed arbitrary datagrams
// (the RETRY and HANDSHAKE paths an attacker can reach).
#include "transport/rudp/packet.hpp"
#include "transport/rudp/session.hpp"

#include <sodium.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = sodium_init() >= 0;
  static const crust::identity self = crust::identity::generate();
  if (!ready)
    return 0;
  using namespace crust::rudp;
  (void) peek(data, size);
  initial_packet i;
  retry_packet r;
  handshake_packet h;
  abort_packet a;
  (void) decode(data, size, i);
  (void) decode(data, size, r);
  (void) decode(data, size, h);
  (void) decode(data, size, a);
  frames f;
  (void) parse_frames(data, size, f);
  crust::session_config cfg;
  config rcfg;
  auto now = clock::now();
  session s{cfg, rcfg, self, now};
  crust::bytes out;
  while (s.poll_datagram(out, now)) {
  }
  s.handle_datagram(data, size, now);
  while (s.poll_datagram(out, now)) {
  }
  while (s.poll_event()) {
  }
  return 0;
}
