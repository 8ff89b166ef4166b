#include "status_page.hpp"

#include "control_protocol.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace crust {

namespace {

using json = nlohmann::json;

std::string html_escape(const std::string& x) {
  std::string out;
  for (char c : x) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string rtt_text(uint64_t us) {
  if (us == 0)
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f ms", static_cast<double>(us) / 1000.0);
  return buf;
}

std::string bytes_text(uint64_t n) {
  char buf[32];
  if (n < 1024)
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(n));
  else if (n < 1024 * 1024)
    std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(n) / 1024.0);
  else
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
  return buf;
}

} // namespace

std::string status_json(const metrics_input& in) {
  auto& s = in.stats;
  json out{{"peer", to_string(in.id)},
           {"version", in.version},
           {"connections", s.connections},
           {"bootstrap", in.bootstrap ? to_string(*in.bootstrap) : std::string{"unknown"}},
           {"handshakes", s.handshakes},
           {"handshakes_failed", s.handshakes_failed},
           {"dials", s.dials},
           {"dials_failed", s.dials_failed},
           {"peers", control::peer_array(s.peers)}};
  if (in.nat) {
    json ext = json::array();
    for (auto& ep : in.nat->external)
      ext.push_back(to_string(ep));
    out["nat"] = {{"class", to_string(in.nat->nat)},
                  {"external", std::move(ext)},
                  {"observed_address", in.nat->observed_address},
                  {"upnp", in.nat->upnp},
                  {"relay_circuits", in.nat->relay_circuits_open}};
  } else {
    out["nat"] = nullptr;
  }
  return out.dump();
}

std::string status_html(const metrics_input& in, int refresh_seconds) {
  auto& s = in.stats;
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds) + "\">";
  h += "<title>crust node " + html_escape(to_string(in.id).substr(0, 8)) + "</title>";
  h += "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
       "th{background:#eee}code{font-size:.9em}</style></head><body>\n";
  h += "<h1>crust node</h1>\n<table id=\"node\">";
  auto row = [&](const std::string& k, const std::string& v) {
    h += "<tr><th>" + html_escape(k) + "</th><td>" + v + "</td></tr>";
  };
  row("peer id", "<code id=\"peer-id\">" + html_escape(to_string(in.id)) + "</code>");
  row("version", html_escape(in.version));
  row("connections", "<span id=\"connections\">" + std::to_string(s.connections) + "</span>");
  row("bootstrap", html_escape(in.bootstrap ? to_string(*in.bootstrap) : "unknown"));
  if (in.nat) {
    row("NAT class", "<span id=\"nat-class\">" + html_escape(to_string(in.nat->nat)) + "</span>");
    std::string ext;
    for (auto& ep : in.nat->external)
      ext += (ext.empty() ? "" : "<br>") + html_escape(to_string(ep));
    row("external endpoints", ext.empty() ? "-" : ext);
    row("relay circuits carried", std::to_string(in.nat->relay_circuits_open));
  } else {
    row("NAT class", "<span id=\"nat-class\">off</span>");
  }
  row("handshakes", std::to_string(s.handshakes) + " done, " + std::to_string(s.handshakes_failed)
                      + " failed");
  h += "</table>\n<h2>Peers</h2>\n<table id=\"peers\"><thead><tr><th>peer</th><th>endpoint</th>"
       "<th>direction</th><th>transport</th><th>path</th><th>RTT</th><th>sent</th>"
       "<th>received</th></tr></thead><tbody>\n";
  for (auto& p : s.peers) {
    h += "<tr class=\"peer\" data-peer=\"" + html_escape(to_string(p.peer)) + "\"><td><code>"
         + html_escape(to_string(p.peer).substr(0, 16)) + "</code></td><td>"
         + html_escape(to_string(p.remote)) + "</td><td>" + html_escape(to_string(p.dir))
         + "</td><td>" + html_escape(to_string(p.transport)) + "</td><td>"
         + html_escape(to_string(p.path)) + "</td><td>" + rtt_text(p.rtt_us) + "</td><td>"
         + bytes_text(p.bytes_sent) + "</td><td>" + bytes_text(p.bytes_received) + "</td></tr>\n";
  }
  h += "</tbody></table>\n<p>Read-only. The same as JSON: <a href=\"/status.json\">"
       "/status.json</a>; Prometheus metrics: <a href=\"/metrics\">/metrics</a>.</p>\n"
       "</body></html>\n";
  return h;
}

status_board::documents render_status(const metrics_input& in) {
  return {prometheus_text(collect_metrics(in)), status_json(in), status_html(in)};
}

} // namespace crust
