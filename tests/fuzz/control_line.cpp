// Fuzzes crust-node's control channel: one JSON line per input.
#include "control_protocol.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string line(reinterpret_cast<const char*>(data), size);
  (void) crust::control::parse_command(line);
  return 0;
}
