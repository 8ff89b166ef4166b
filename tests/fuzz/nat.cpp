// Fuzzes what nat/ reads from the network: STUN datagrams (with
// MESSAGE-INTEGRITY checks), rendezvous, relay and reachability messages.
#include "nat/reachability_codec.hpp"
#include "nat/relay_codec.hpp"
#include "nat/rendezvous_codec.hpp"
#include "nat/stun_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crust::stun::message m;
  if (crust::stun::looks_like_stun(data, size) || size < 64)
    if (crust::stun::parse(data, size, m) == crust::ec::none)
      (void) crust::stun::verify_integrity(data, size, m, "VOkJxbRl1RmTxUk/WvJxBt");
  crust::bytes body(data, data + size);
  crust::rendezvous_msg r;
  if (crust::decode(body, r) == crust::ec::none) {
    crust::rendezvous_msg again;
    if (crust::decode(crust::encode(r), again) != crust::ec::none)
      __builtin_trap(); // what we decoded must encode to something we accept
  }
  crust::relay_msg x;
  if (crust::decode(body, x) == crust::ec::none) {
    crust::relay_msg again;
    if (crust::decode(crust::encode(x), again) != crust::ec::none)
      __builtin_trap();
  }
  crust::reachability_msg c;
  if (crust::decode(body, c) == crust::ec::none) {
    crust::reachability_msg again;
    if (crust::decode(crust::encode(c), again) != crust::ec::none)
      __builtin_trap();
  }
  return 0;
}
