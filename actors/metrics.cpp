#include "actors/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <iterator>
#include <tuple>

namespace crust {

namespace {

using labels = std::vector<std::pair<std::string, std::string>>;

metric_family family(std::string name, std::string help, metric_type type) {
  return {std::move(name), std::move(help), type, {}};
}

void add(metric_family& f, double value, labels ls = {}) {
  f.samples.push_back({"", std::move(ls), value});
}

/// A histogram's series from per-bucket counts (not cumulative).
template <size_t N>
void add_histogram(metric_family& f, const uint64_t (&bounds_us)[N],
                   const std::vector<uint64_t>& counts, uint64_t sum_us) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= N; ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    std::string le = "+Inf";
    if (i < N) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(bounds_us[i]) / 1e6);
      le = buf;
    }
    f.samples.push_back({"_bucket", {{"le", le}}, static_cast<double>(cumulative)});
  }
  f.samples.push_back({"_sum", {}, static_cast<double>(sum_us) / 1e6});
  f.samples.push_back({"_count", {}, static_cast<double>(cumulative)});
}

std::string escape(const std::string& x) {
  std::string out;
  for (char c : x) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v))
    return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

const char* type_name(metric_type t) {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

} // namespace

void observe_rtts(metrics_input& in) {
  // No peers yet: the histogram still has its buckets (all zero).
  if (in.rtt_buckets.empty())
    in.rtt_buckets.assign(std::size(rtt_bucket_bounds_us) + 1, 0);
  for (auto& p : in.stats.peers) {
    if (p.rtt_us == 0)
      continue;
    observe(in.rtt_buckets, rtt_bucket_bounds_us, p.rtt_us);
    in.rtt_sum_us += p.rtt_us;
  }
}

std::vector<metric_family> collect_metrics(const metrics_input& in) {
  std::vector<metric_family> out;
  auto& s = in.stats;
  auto info = family("crust_node_info", "The node: its peer id (public key) and version.",
                     metric_type::gauge);
  add(info, 1, {{"peer_id", to_string(in.id)}, {"version", in.version}});
  out.push_back(std::move(info));

  // Connections now, by transport, path and direction (every combination
  // that occurs; absent ones are 0).
  auto conns = family("crust_connections", "Peers connected now.", metric_type::gauge);
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> by;
  for (auto& p : s.peers)
    ++by[{to_string(p.transport), to_string(p.path), to_string(p.dir)}];
  for (auto& [k, n] : by)
    add(conns, static_cast<double>(n), {{"transport", std::get<0>(k)},
                                        {"path", std::get<1>(k)},
                                        {"direction", std::get<2>(k)}});
  if (by.empty())
    add(conns, 0);
  out.push_back(std::move(conns));

  auto gauge = [&](const char* name, const char* help, uint64_t v) {
    auto f = family(name, help, metric_type::gauge);
    add(f, static_cast<double>(v));
    out.push_back(std::move(f));
  };
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    auto f = family(name, help, metric_type::counter);
    add(f, static_cast<double>(v));
    out.push_back(std::move(f));
  };
  gauge("crust_links", "Link actors now, handshaking ones included.", s.links);
  gauge("crust_half_open", "Inbound handshakes under way now.", s.half_open);
  gauge("crust_half_open_peak", "The most inbound handshakes ever under way at once.",
        s.half_open_peak);
  gauge("crust_udp_half_open", "Validated reliable-UDP handshakes being set up now.",
        s.udp_half_open);
  counter("crust_dials_total", "Outbound connection attempts started.", s.dials);
  counter("crust_dials_failed_total", "Outbound attempts that ended before authentication.",
          s.dials_failed);
  counter("crust_accepted_total", "Inbound sockets taken on.", s.accepted);
  counter("crust_refused_total", "Inbound sockets refused before any cryptography.", s.refused);
  counter("crust_handshakes_total", "Handshakes completed, either direction.", s.handshakes);
  counter("crust_handshakes_failed_total", "Inbound handshakes that failed.",
          s.handshakes_failed);
  counter("crust_connections_closed_total", "Authenticated links that ended.",
          s.connections_closed);
  counter("crust_udp_retries_total", "Stateless RETRYs sent (reliable-UDP address checks).",
          s.udp_retries);
  counter("crust_udp_refused_total", "Reliable-UDP INITIALs refused (malformed, over a limit).",
          s.udp_refused);

  // Messages and bytes over the node's life, closed links included.
  auto msgs = family("crust_messages_total", "Messages, all links (closed ones included).",
                     metric_type::counter);
  add(msgs, static_cast<double>(s.messages_sent), {{"direction", "sent"}});
  add(msgs, static_cast<double>(s.messages_received), {{"direction", "received"}});
  out.push_back(std::move(msgs));
  auto bytes_f = family("crust_bytes_total",
                        "Bytes on the wire (framing and encryption included), all links.",
                        metric_type::counter);
  add(bytes_f, static_cast<double>(s.bytes_sent), {{"direction", "sent"}});
  add(bytes_f, static_cast<double>(s.bytes_received), {{"direction", "received"}});
  out.push_back(std::move(bytes_f));

  auto alerts = family("crust_alerts_total", "Alerts to the routing layer, by kind (occurrences).",
                       metric_type::counter);
  for (uint8_t k = 0; k <= static_cast<uint8_t>(alert_kind::connection_limit); ++k) {
    auto kind = static_cast<alert_kind>(k);
    auto i = in.alerts.find(kind);
    add(alerts, i == in.alerts.end() ? 0.0 : static_cast<double>(i->second),
        {{"kind", to_string(kind)}});
  }
  out.push_back(std::move(alerts));

  auto boot = family("crust_bootstrap_state", "Where bootstrapping stands (1 for the state).",
                     metric_type::gauge);
  for (auto st : {bootstrap_state::running, bootstrap_state::done, bootstrap_state::exhausted,
                  bootstrap_state::failed, bootstrap_state::stopped})
    add(boot, in.bootstrap && *in.bootstrap == st ? 1 : 0, {{"state", to_string(st)}});
  out.push_back(std::move(boot));

  auto hs = family("crust_handshake_seconds",
                   "Time from a link's start (dial or accept) to authentication.",
                   metric_type::histogram);
  add_histogram(hs, handshake_bucket_bounds_us, s.handshake_buckets, s.handshake_sum_us);
  out.push_back(std::move(hs));
  auto rtt = family("crust_rtt_seconds",
                    "Connected peers' last keepalive round trips, sampled at every snapshot.",
                    metric_type::histogram);
  add_histogram(rtt, rtt_bucket_bounds_us, in.rtt_buckets, in.rtt_sum_us);
  out.push_back(std::move(rtt));

  if (in.nat) {
    auto& n = *in.nat;
    auto cls = family("crust_nat_class", "Our NAT class (1 for the class).", metric_type::gauge);
    for (auto c : {nat_class::unknown, nat_class::none, nat_class::endpoint_independent,
                   nat_class::endpoint_dependent})
      add(cls, n.nat == c ? 1 : 0, {{"class", to_string(c)}});
    out.push_back(std::move(cls));
    gauge("crust_nat_external_endpoints", "Mapped endpoints of our sockets (STUN, UPnP).",
          n.external.size());
    counter("crust_punches_sent_total", "Hole-punching packets sent.", n.punches_sent);
    auto tr = family("crust_traversals_total", "NAT traversals, by outcome.",
                     metric_type::counter);
    add(tr, static_cast<double>(n.traversals_started), {{"outcome", "started"}});
    add(tr, static_cast<double>(n.traversals_succeeded), {{"outcome", "succeeded"}});
    add(tr, static_cast<double>(n.traversals_failed), {{"outcome", "failed"}});
    out.push_back(std::move(tr));
    counter("crust_introductions_served_total", "Rendezvous requests we carried for others.",
            n.introductions_served);
    gauge("crust_relay_circuits", "Relay circuits we carry for others now.",
          n.relay_circuits_open);
    counter("crust_relay_circuits_total", "Relay circuits we carried for others.",
            n.relayed_circuits);
    counter("crust_relay_bytes_total", "Bytes we relayed for others.", n.relayed_bytes);
    auto up = family("crust_upgrades_total", "Relayed links we tried to move to a direct path.",
                     metric_type::counter);
    add(up, static_cast<double>(n.upgrades_tried), {{"outcome", "tried"}});
    add(up, static_cast<double>(n.upgrades_succeeded), {{"outcome", "succeeded"}});
    out.push_back(std::move(up));
    counter("crust_birthday_probes_total", "Birthday probes sent as the easy side.",
            n.birthday_probes);
    counter("crust_reachability_probes_served_total", "Dial-backs made for peers' checks.",
            n.probes_served);
  }
  return out;
}

std::string prometheus_text(const std::vector<metric_family>& families) {
  std::string out;
  for (auto& f : families) {
    out += "# HELP " + f.name + " " + f.help + "\n";
    out += "# TYPE " + f.name + " " + type_name(f.type) + "\n";
    for (auto& s : f.samples) {
      out += f.name + s.suffix;
      if (!s.labels.empty()) {
        out += '{';
        for (size_t i = 0; i < s.labels.size(); ++i) {
          if (i > 0)
            out += ',';
          out += s.labels[i].first + "=\"" + escape(s.labels[i].second) + '"';
        }
        out += '}';
      }
      out += ' ' + format_value(s.value) + '\n';
    }
  }
  return out;
}

} // namespace crust
