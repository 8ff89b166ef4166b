// The metrics core: families from a snapshot, and the text exposition
// format Prometheus parses (cumulative buckets, escaped labels, _total).

#define CAF_SUITE actors.metrics
#include <caf/test/unit_test.hpp>

#include "actors/metrics.hpp"

#include <iterator>

using namespace crust;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

peer_info peer(uint8_t b, protocol t, path_kind p, direction d, uint64_t rtt_us) {
  peer_info x;
  x.peer.key.fill(b);
  x.transport = t;
  x.path = p;
  x.dir = d;
  x.rtt_us = rtt_us;
  return x;
}

} // namespace

CAF_TEST(families and their text) {
  metrics_input in;
  in.id.key.fill(0xab);
  in.version = "1.2.3\"x";
  in.stats.dials = 7;
  in.stats.handshakes = 3;
  in.stats.peers = {peer(1, protocol::tcp, path_kind::direct, direction::outbound, 800),
                    peer(2, protocol::tcp, path_kind::direct, direction::outbound, 30000),
                    peer(3, protocol::udp, path_kind::relayed, direction::inbound, 0)};
  in.stats.connections = 3;
  // Three handshakes: 0.4 ms, 3 ms and 7 s (above the last bound).
  in.stats.handshake_buckets.assign(std::size(handshake_bucket_bounds_us) + 1, 0);
  in.stats.handshake_buckets[0] = 1;
  in.stats.handshake_buckets[3] = 1;
  in.stats.handshake_buckets.back() = 1;
  in.stats.handshake_sum_us = 400 + 3000 + 7000000;
  in.alerts[alert_kind::rate_exceeded] = 5;
  in.bootstrap = bootstrap_state::done;
  observe_rtts(in); // the relayed peer has no RTT yet: not observed
  auto text = prometheus_text(collect_metrics(in));
  CAF_MESSAGE(text.substr(0, 400));
  CAF_CHECK(has_line(text, "# TYPE crust_connections gauge"));
  CAF_CHECK(has_line(text, "crust_connections{transport=\"tcp\",path=\"direct\","
                           "direction=\"outbound\"} 2"));
  CAF_CHECK(has_line(text, "crust_connections{transport=\"udp\",path=\"relayed\","
                           "direction=\"inbound\"} 1"));
  CAF_CHECK(has_line(text, "# TYPE crust_dials_total counter"));
  CAF_CHECK(has_line(text, "crust_dials_total 7"));
  CAF_CHECK(has_line(text, "crust_alerts_total{kind=\"rate_exceeded\"} 5"));
  CAF_CHECK(has_line(text, "crust_alerts_total{kind=\"handshake_failure\"} 0"));
  CAF_CHECK(has_line(text, "crust_bootstrap_state{state=\"done\"} 1"));
  CAF_CHECK(has_line(text, "crust_bootstrap_state{state=\"running\"} 0"));
  // A label value with a quote is escaped.
  CAF_CHECK(text.find("version=\"1.2.3\\\"x\"") != std::string::npos);
  // Histograms: cumulative buckets in seconds, +Inf equals the count.
  CAF_CHECK(has_line(text, "# TYPE crust_handshake_seconds histogram"));
  CAF_CHECK(has_line(text, "crust_handshake_seconds_bucket{le=\"0.0005\"} 1"));
  CAF_CHECK(has_line(text, "crust_handshake_seconds_bucket{le=\"0.0025\"} 1"));
  CAF_CHECK(has_line(text, "crust_handshake_seconds_bucket{le=\"0.005\"} 2"));
  CAF_CHECK(has_line(text, "crust_handshake_seconds_bucket{le=\"5\"} 2"));
  CAF_CHECK(has_line(text, "crust_handshake_seconds_bucket{le=\"+Inf\"} 3"));
  CAF_CHECK(has_line(text, "crust_handshake_seconds_count 3"));
  CAF_CHECK(has_line(text, "crust_handshake_seconds_sum 7.0034"));
  CAF_CHECK(has_line(text, "crust_rtt_seconds_bucket{le=\"0.001\"} 1"));
  CAF_CHECK(has_line(text, "crust_rtt_seconds_bucket{le=\"0.05\"} 2"));
  CAF_CHECK(has_line(text, "crust_rtt_seconds_count 2"));
  // No NAT status, no NAT families; with one, its class.
  CAF_CHECK(text.find("crust_nat_class") == std::string::npos);
  nat_status n;
  n.nat = nat_class::endpoint_independent;
  n.relay_circuits_open = 2;
  in.nat = n;
  text = prometheus_text(collect_metrics(in));
  CAF_CHECK(has_line(text, "crust_nat_class{class=\"endpoint_independent\"} 1"));
  CAF_CHECK(has_line(text, "crust_nat_class{class=\"unknown\"} 0"));
  CAF_CHECK(has_line(text, "crust_relay_circuits 2"));
  // Every sample line is NAME[{labels}] VALUE, every family has HELP and TYPE.
  size_t helps = 0, types = 0;
  for (size_t at = 0; at < text.size();) {
    auto nl = text.find('\n', at);
    auto line = text.substr(at, nl - at);
    at = nl + 1;
    if (line.rfind("# HELP ", 0) == 0)
      ++helps;
    else if (line.rfind("# TYPE ", 0) == 0)
      ++types;
    else
      CAF_CHECK(line.rfind("crust_", 0) == 0 && line.find(' ') != std::string::npos);
  }
  CAF_CHECK_EQUAL(helps, types);
  CAF_CHECK_EQUAL(helps, collect_metrics(in).size());
}

CAF_TEST(an empty snapshot still has every family) {
  metrics_input in;
  auto text = prometheus_text(collect_metrics(in));
  CAF_CHECK(has_line(text, "crust_connections 0"));
  CAF_CHECK(has_line(text, "crust_handshake_seconds_count 0"));
  CAF_CHECK(has_line(text, "crust_rtt_seconds_bucket{le=\"+Inf\"} 0"));
}
