// crust-node's configuration: unknown keys and bad values are reported, each
// by name; good values become a node_config.
#define CAF_SUITE tools.node_options
#include <caf/test/unit_test.hpp>

#include "node_options.hpp"

#include <fstream>
#include <unistd.h>

using namespace crust;

namespace {

/// Parses command-line arguments (and an ini file, if given).
std::unique_ptr<node_options> parse(std::vector<std::string> args, caf::error* err = nullptr) {
  auto opts = std::make_unique<node_options>();
  std::vector<char*> argv{const_cast<char*>("crust-node")};
  for (auto& a : args)
    argv.push_back(a.data());
  auto result = opts->parse(static_cast<int>(argv.size()), argv.data(), "no-such-default.ini");
  if (err)
    *err = result;
  else if (result)
    CAF_FAIL("parse failed: " << caf::actor_system_config::render(result));
  return opts;
}

std::string temp_ini(const std::string& text) {
  auto path = "/tmp/crust-options-test-" + std::to_string(getpid()) + ".ini";
  std::ofstream(path) << text;
  return path;
}

std::vector<std::string> problems_of(const node_options& o) {
  auto result = o.to_node_config();
  if (auto p = std::get_if<std::vector<std::string>>(&result))
    return *p;
  return {};
}

} // namespace

CAF_TEST(command line values become the node config) {
  auto o = parse({"--network=lab", "--port=5483", "--role=client", "--no-listen",
                  "--peer-timeout=3s", "--keepalive-interval=500ms",
                  "--contacts=[\"tcp://127.0.0.1:9\",\"[::1]:10\"]"});
  auto result = o->to_node_config();
  CAF_REQUIRE(std::holds_alternative<node_config>(result));
  auto& cfg = std::get<node_config>(result);
  CAF_CHECK_EQUAL(cfg.network, "lab");
  CAF_CHECK_EQUAL(cfg.tcp_port, 5483);
  CAF_CHECK(cfg.role == node_role::client);
  CAF_CHECK(!cfg.listen);
  CAF_CHECK(cfg.peer_timeout == std::chrono::seconds(3));
  CAF_CHECK(cfg.keepalive_interval == std::chrono::milliseconds(500));
  CAF_REQUIRE_EQUAL(cfg.contacts.size(), 2u);
  CAF_CHECK_EQUAL(cfg.contacts[1].address, "::1");
  CAF_CHECK_EQUAL(cfg.rudp.max_probe_datagram, 16384u); // probing up to our receive limit
  auto off = parse({"--udp-max-datagram=1232"})->to_node_config();
  CAF_REQUIRE(std::holds_alternative<node_config>(off));
  CAF_CHECK_EQUAL(std::get<node_config>(off).rudp.max_probe_datagram, 1232u);
  CAF_CHECK(cfg.nat.tcp_punch); // on by default
  auto no_punch = parse({"--no-tcp-punch"})->to_node_config();
  CAF_REQUIRE(std::holds_alternative<node_config>(no_punch));
  CAF_CHECK(!std::get<node_config>(no_punch).nat.tcp_punch);
}

CAF_TEST(an ini file sets the same options) {
  auto path = temp_ini("[global]\nnetwork=\"from-ini\"\nport=7000\n");
  auto o = parse({"--config-file=" + path});
  unlink(path.c_str());
  auto result = o->to_node_config();
  CAF_REQUIRE(std::holds_alternative<node_config>(result));
  CAF_CHECK_EQUAL(std::get<node_config>(result).network, "from-ini");
  CAF_CHECK_EQUAL(std::get<node_config>(result).tcp_port, 7000);
  CAF_CHECK(o->unknown_keys().empty());
}

CAF_TEST(unknown keys are named) {
  auto path = temp_ini("[global]\nnetwrok=\"typo\"\n[scheduler]\nmax-threads=2\nbogus=1\n");
  auto o = parse({"--config-file=" + path});
  unlink(path.c_str());
  auto unknown = o->unknown_keys();
  std::sort(unknown.begin(), unknown.end());
  CAF_CHECK_EQUAL(unknown, std::vector<std::string>({"netwrok", "scheduler.bogus"}));
  caf::error err;
  parse({"--no-such-flag"}, &err);
  CAF_CHECK(err); // CAF refuses unknown command-line flags itself
}

CAF_TEST(bad values are named) {
  auto o = parse({"--port=70000", "--role=server", "--listen-address=localhost",
                  "--contacts=[\"nowhere\"]", "--max-message-size=0", "--control=tty",
                  "--keepalive-interval=20s", "--peer-timeout=10s",
                  "--udp-max-datagram=20000"});
  auto problems = problems_of(*o);
  auto has = [&](const std::string& prefix) {
    for (auto& p : problems)
      if (p.rfind(prefix, 0) == 0)
        return true;
    return false;
  };
  CAF_CHECK(has("port:"));
  CAF_CHECK(has("role:"));
  CAF_CHECK(has("listen-address:"));
  CAF_CHECK(has("contacts:"));
  CAF_CHECK(has("max-message-size:"));
  CAF_CHECK(has("control:"));
  CAF_CHECK(has("keepalive-interval:"));
  CAF_CHECK(has("udp-max-datagram:"));
  CAF_CHECK_EQUAL(problems.size(), 8u);
}

CAF_TEST(ini files with map values are refused before CAF parses them) {
  CAF_CHECK(!node_options::precheck_ini("[global]\nport=5483\nnetwork=\"a{b}\" ; {ok}\n"));
  auto err = node_options::precheck_ini("[global]\nport{}\n");
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(*err, "line 2: '{': crust-node's configuration has no map values");
  CAF_CHECK(node_options::precheck_ini("help{}"));
  CAF_CHECK(node_options::precheck_ini("x=\"\\\"\" }"));
}
