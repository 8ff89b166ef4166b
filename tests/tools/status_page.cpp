// crust-node's status documents and the metrics-address option.

#define CAF_SUITE tools.status_page
#include <caf/test/unit_test.hpp>

#include "node_options.hpp"
#include "status_page.hpp"

#include <nlohmann/json.hpp>

using namespace crust;

CAF_TEST(metrics addresses) {
  auto a = parse_http_address("9464");
  CAF_REQUIRE(a);
  CAF_CHECK_EQUAL(a->first, "127.0.0.1"); // a port alone: loopback
  CAF_CHECK_EQUAL(a->second, 9464);
  a = parse_http_address("0.0.0.0:80");
  CAF_REQUIRE(a);
  CAF_CHECK_EQUAL(a->first, "0.0.0.0");
  a = parse_http_address("[::1]:0");
  CAF_REQUIRE(a);
  CAF_CHECK_EQUAL(a->first, "::1");
  CAF_CHECK_EQUAL(a->second, 0);
  for (auto bad : {"", "x", "65536", "localhost:80", "1.2.3.4:", "1.2.3.4:x", "::1:80",
                   "[::1]80", "[::1]:", "1.2.3.4:99999", "-1", "1.2.3.4:8a"})
    if (parse_http_address(bad))
      CAF_FAIL("accepted '" << bad << "'");
}

CAF_TEST(status json and page) {
  metrics_input in;
  in.id.key.fill(0x11);
  in.version = "0.1.0";
  peer_info p;
  p.peer.key.fill(0x22);
  p.remote = endpoint{protocol::udp, "203.0.113.9", 4000};
  p.transport = protocol::udp;
  p.path = path_kind::punched_udp;
  p.rtt_us = 12345;
  p.bytes_sent = 2048;
  in.stats.peers = {p};
  in.stats.connections = 1;
  nat_status n;
  n.nat = nat_class::endpoint_dependent;
  n.external = {endpoint{protocol::udp, "203.0.113.5", 1000}};
  n.upnp = "<script>alert(1)</script>"; // whatever a gateway said: escaped
  in.nat = n;
  in.bootstrap = bootstrap_state::running;
  auto j = nlohmann::json::parse(status_json(in));
  CAF_CHECK_EQUAL(j["connections"].get<int>(), 1);
  CAF_CHECK_EQUAL(j["nat"]["class"].get<std::string>(), "endpoint_dependent");
  CAF_CHECK_EQUAL(j["nat"]["external"][0].get<std::string>(), "udp://203.0.113.5:1000");
  CAF_CHECK_EQUAL(j["peers"][0]["path"].get<std::string>(), "punched_udp");
  CAF_CHECK_EQUAL(j["peers"][0]["rtt_us"].get<int>(), 12345);
  CAF_CHECK_EQUAL(j["bootstrap"].get<std::string>(), "running");
  auto html = status_html(in, 3);
  CAF_CHECK(html.find("<meta http-equiv=\"refresh\" content=\"3\">") != std::string::npos);
  CAF_CHECK(html.find("class=\"peer\" data-peer=\"" + to_string(p.peer) + "\"")
            != std::string::npos);
  CAF_CHECK(html.find("punched_udp") != std::string::npos);
  CAF_CHECK(html.find("12.3 ms") != std::string::npos);
  CAF_CHECK(html.find("2.0 KiB") != std::string::npos);
  CAF_CHECK(html.find("<script") == std::string::npos); // nothing that runs
  CAF_CHECK(html.find("http://") == std::string::npos && html.find("https://") == std::string::npos);
  // No NAT traversal: said so.
  in.nat.reset();
  CAF_CHECK(nlohmann::json::parse(status_json(in))["nat"].is_null());
  CAF_CHECK(status_html(in).find(">off<") != std::string::npos);
  auto docs = render_status(in);
  CAF_CHECK(docs.metrics.find("crust_connections") != std::string::npos);
  status_board board;
  CAF_CHECK(board.current()->json.empty());
  board.publish(docs);
  CAF_CHECK_EQUAL(board.current()->json, docs.json);
}
