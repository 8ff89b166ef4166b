// Fuzzes crust-node's configuration the way crust-node reads it: the input
// is its ini file (--config-file), then checked as crust-node checks it
// (unknown keys, every value's range).
#include "node_options.hpp"

#include <fstream>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/crust-fuzz-config-" + std::to_string(::getpid()) + ".ini";
  {
    std::ofstream f{path, std::ios::binary | std::ios::trunc};
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::string arg0 = "crust-node";
  std::string arg1 = "--config-file=" + path;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  if (crust::node_options::precheck_ini(std::string(reinterpret_cast<const char*>(data), size)))
    return 0; // refused with a clear message, as crust-node does
  crust::node_options opts;
  if (opts.parse(2, argv, "crust-node.ini"))
    return 0;
  (void) opts.unknown_keys();
  (void) opts.to_node_config();
  return 0;
}
