// Fuzzes the bootstrap cache file reader (a file on disk is input too).
#include "discovery/bootstrap_cache.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  size_t skipped = 0;
  auto r = crust::bootstrap_cache::from_file(text, "crust", 64, skipped);
  if (auto c = std::get_if<crust::bootstrap_cache>(&r))
    (void) c->to_file("crust");
  return 0;
}
