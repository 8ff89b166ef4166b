// Fuzzes crust-node's own configuration checks: the ini pre-check and a
// reload's key listing (the whole input as a file), the validation of every
// option's value (the input split into values), metrics-address. CAF's ini parser itself is not fuzzed here: Debian's
// CAF is built with g++ and a clang-built caller crashes inside its flag
// handling (an ABI mismatch, see tools/sanitize.sh); instead the
// multi_node.bad_input test replays this target's corpus through the real
// crust-node (g++), which must answer every file with exit 0 or 2.
#include "node_options.hpp"

#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void) crust::node_options::precheck_ini(text);
  std::vector<std::string> parts;
  std::string cur;
  for (char c : text) {
    if (c == '\n') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  auto part = [&](size_t i) { return i < parts.size() ? parts[i] : std::string{}; };
  auto num = [&](size_t i) -> int64_t {
    auto s = part(i);
    uint64_t x = 0; // wraps by design: any 64-bit value, negatives included
    for (char c : s)
      x = x * 31 + static_cast<unsigned char>(c) - 64;
    return static_cast<int64_t>(x);
  };
  crust::node_options opts;
  opts.network = part(0);
  opts.role = part(1);
  opts.listen_address = part(2);
  opts.port = num(3);
  opts.contacts = {part(4), part(5)};
  opts.transport = part(6);
  opts.beacon = part(7);
  opts.log_level = part(8);
  opts.control = part(9);
  opts.max_message_size = num(10);
  opts.send_queue_limit = num(11);
  opts.udp_port = num(12);
  opts.beacon_port = num(13);
  opts.gossip_ttl = num(14);
  opts.bootstrap_cache = part(15);
  opts.connect_timeout = caf::timespan{num(16)};
  opts.keepalive_interval = caf::timespan{num(17)};
  opts.peer_timeout = caf::timespan{num(18)};
  opts.metrics_address = part(19);
  (void) opts.to_node_config();
  (void) opts.bootstrap_cache_path();
  // A reload's diff of two files, and metrics-address on its own.
  (void) crust::ini_keys(text);
  (void) crust::ini_keys(part(0) + "\n" + part(1));
  (void) crust::parse_http_address(part(19));
  return 0;
}
