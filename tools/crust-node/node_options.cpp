#include "node_options.hpp"

#include <fstream>

#include "actors/admission.hpp"
#include "transport/address.hpp"
#include "transport/hex.hpp"

#include <caf/config_option_adder.hpp>
#include <caf/settings.hpp>

#include <algorithm>
#include <iterator>
#include <cstdlib>

namespace crust {

namespace {

std::chrono::milliseconds to_ms(caf::timespan x) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x);
}

void collect_unknown(const caf::config_option_set& known, const caf::settings& xs,
                     const std::string& prefix, std::vector<std::string>& out) {
  for (auto& kv : xs) {
    auto name = prefix.empty() ? kv.first : prefix + "." + kv.first;
    if (auto sub = caf::get_if<caf::settings>(&kv.second)) {
      collect_unknown(known, *sub, name, out);
      continue;
    }
    auto qualified = name.find('.') == std::string::npos ? "global." + name : name;
    if (known.qualified_name_lookup(qualified) == nullptr)
      out.push_back(name);
  }
}

} // namespace

node_options::node_options() {
  opt_group{custom_options_, "global"}
    .add(network, "network", "network name; nodes of other networks never connect")
    .add(role, "role", "'node' (accepts connections) or 'client' (never does)")
    .add(listen_address, "listen-address", "address to listen on ('::' = all)")
    .add(port, "port", "TCP port to listen on (0 = random)")
    .add(no_listen, "no-listen", "do not accept connections")
    .add(no_port_fallback, "no-port-fallback", "fail instead of taking a random port when 'port' is taken")
    .add(contacts, "contacts", "endpoints to dial at start, e.g. [\"tcp://127.0.0.1:5483\"]")
    .add(identity_file, "identity-file", "Ed25519 identity key file, created (mode 0600) if absent")
    .add(max_message_size, "max-message-size", "largest message in bytes, either way")
    .add(send_queue_limit, "send-queue-limit", "bytes queued per connection before sends fail")
    .add(connect_timeout, "connect-timeout", "give up a TCP connect after this long")
    .add(handshake_timeout, "handshake-timeout", "give up a handshake after this long")
    .add(keepalive_interval, "keepalive-interval", "send a ping after this long without sending")
    .add(peer_timeout, "peer-timeout", "report a peer down after this long without hearing from it")
    .add(duplicate_grace, "duplicate-grace", "wait this long for a duplicate's replacement")
    .add(redial_min, "redial-min", "first re-dial delay for a maintained peer")
    .add(redial_max, "redial-max", "longest re-dial delay for a maintained peer")
    .add(io_threads, "io-threads", "threads running the socket event loop")
    .add(transport, "transport",
         "auto (TCP, reliable UDP joins after udp-fallback-delay), tcp or udp")
    .add(no_udp, "no-udp", "no UDP socket: TCP only")
    .add(udp_port, "udp-port", "UDP port; 0 = the TCP port's number (random when not listening)")
    .add(udp_fallback_delay, "udp-fallback-delay", "start reliable UDP when TCP has not connected by then")
    .add(udp_max_datagram, "udp-max-datagram",
         "largest datagram path MTU probing tries, 1232 (no probing) to 16384")
    .add(bootstrap_cache, "bootstrap-cache",
         "bootstrap cache file ('none': keep it in memory); default ~/.cache/crust/<network>.bootstrap")
    .add(bootstrap_cache_size, "bootstrap-cache-size", "entries the bootstrap cache keeps")
    .add(cache_write_delay, "cache-write-delay", "coalesce bootstrap cache writes this long")
    .add(bootstrap_target, "bootstrap-target", "bootstrap while fewer connections than this")
    .add(bootstrap_parallel, "bootstrap-parallel", "bootstrap dials at once")
    .add(bootstrap_attempt_timeout, "bootstrap-attempt-timeout", "give up one bootstrap dial after this long")
    .add(bootstrap_backoff_min, "bootstrap-backoff-min",
         "wait after a bootstrap round that ended below the target (jittered, doubling)")
    .add(bootstrap_backoff_max, "bootstrap-backoff-max", "longest wait between bootstrap rounds")
    .add(beacon, "beacon", "LAN beacon: off, ipv4 (broadcast), ipv6 (multicast ff02::5483) or both")
    .add(beacon_port, "beacon-port", "UDP port of the LAN beacon")
    .add(beacon_interval, "beacon-interval", "announce on the LAN this often")
    .add(no_gossip, "no-gossip", "do not exchange peer records with connected peers")
    .add(gossip_interval, "gossip-interval", "re-announce our record to neighbours this often")
    .add(gossip_ttl, "gossip-ttl", "hops a gossiped record travels")
    .add(gossip_fanout, "gossip-fanout", "neighbours a new record is forwarded to")
    .add(no_nat, "no-nat", "no NAT traversal: no STUN, punching or rendezvous")
    .add(stun_servers, "stun-servers",
         "STUN servers for our external address and NAT class, e.g. [\"udp://198.51.100.1:3478\"] (none by default)")
    .add(traversal_timeout, "traversal-timeout", "give up reaching a peer through NATs after this long")
    .add(no_rendezvous, "no-rendezvous", "do not carry connection info between our peers")
    .add(no_reachability, "no-reachability",
         "neither ask peers to dial us back nor dial back for their checks")
    .add(no_aesgcm, "no-aesgcm",
         "never offer AES-256-GCM for transport frames (ChaCha20-Poly1305 only)")
    .add(no_tcp_punch, "no-tcp-punch",
         "no TCP simultaneous open (and the listener does not share its port)")
    .add(relay, "relay", "relay circuits for peers that cannot reach each other otherwise")
    .add(upnp, "upnp", "ask the LAN's UPnP gateway to forward our ports (SSDP multicast on the LAN)")
    .add(relay_circuits, "relay-circuits", "relay circuits open at once, at most")
    .add(relay_circuits_per_peer, "relay-circuits-per-peer",
         "relay circuits one peer may have open at once, as either end")
    .add(relay_max_bytes, "relay-max-bytes", "bytes one relay circuit may carry")
    .add(relay_max_duration, "relay-max-duration", "how long one relay circuit may live")
    .add(relay_upgrade, "relay-upgrade",
         "a relayed link we opened tries for a direct path this long after it came up, then at doubling waits (0: never)")
    .add(birthday_probes, "birthday-probes",
         "probes one attempt may send to a symmetric NAT's ports, as the easy side (0: no birthday probing)")
    .add(birthday_rate, "birthday-rate", "birthday probes per second, at most")
    .add(birthday_sockets, "birthday-sockets",
         "sockets one attempt may hold open towards the peer, as the symmetric side (0: no birthday probing)")
    .add(max_connections, "max-connections", "links at once, both directions; inbound ones beyond are refused before the handshake")
    .add(max_half_open, "max-half-open", "inbound handshakes under way at once")
    .add(max_half_open_per_address, "max-half-open-per-address", "inbound handshakes under way at once from one address")
    .add(connection_rate, "connection-rate", "inbound connections per second one address may open on average (0 = unlimited)")
    .add(connection_burst, "connection-burst", "inbound connections one address may open at once")
    .add(receive_rate, "receive-rate", "message bytes per second one peer may deliver (0 = unlimited)")
    .add(receive_queue, "receive-queue", "message bytes of one peer delivered to the routing layer and not yet processed before reading stops")
    .add(allow_only, "allow-only", "whitelist mode: only these addresses or subnets may connect, e.g. [\"10.0.0.0/8\"]")
    .add(alert_interval, "alert-interval", "alerts of one kind about one source at most this often")
    .add(log_level, "log-level", "off, error, warning, info, debug or trace (lines go to stderr)")
    .add(control, "control", "'stdio' (JSON lines on stdin/stdout) or 'none'")
    .add(blacklist, "blacklist",
         "refuse these for the session, as the blacklist command does: peer ids, addresses or "
         "subnets, e.g. [\"198.51.100.0/24\"]")
    .add(metrics_address, "metrics-address",
         "serve Prometheus metrics (/metrics) and a read-only status page (/, /status.json) over "
         "HTTP here: PORT (loopback) or ADDRESS:PORT; off when empty")
    .add(routing, "routing",
         "'none' (the controlling script decides which peers to keep) or 'xor' (keep the "
         "'keep' closest peers by XOR distance plus 'random-peers' random ones)")
    .add(keep, "keep", "with routing=xor: closest peers maintained")
    .add(random_peers, "random-peers", "with routing=xor: random peers maintained beside them")
    .add(version, "version", "print the version and protocol version, then exit");
}

std::map<std::string, std::string> ini_keys(const std::string& text) {
  std::map<std::string, std::string> out;
  std::string section = "global";
  size_t at = 0;
  while (at <= text.size()) {
    auto nl = text.find('\n', at);
    auto line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    at = nl == std::string::npos ? text.size() + 1 : nl + 1;
    // Drop a comment (';' or '#' outside a string) and surrounding spaces.
    bool in_string = false;
    std::string kept;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (in_string) {
        kept += c;
        if (c == '\\' && i + 1 < line.size())
          kept += line[++i];
        else if (c == '"')
          in_string = false;
        continue;
      }
      if (c == ';' || c == '#')
        break;
      if (c == '"')
        in_string = true;
      if (c != ' ' && c != '\t' && c != '\r')
        kept += c;
    }
    if (kept.empty())
      continue;
    if (kept.front() == '[' && kept.back() == ']') {
      section = kept.substr(1, kept.size() - 2);
      continue;
    }
    auto eq = kept.find('=');
    if (eq == std::string::npos)
      continue;
    auto key = kept.substr(0, eq);
    out[section == "global" ? key : section + "." + key] = kept.substr(eq + 1);
  }
  return out;
}

std::optional<blacklist_entry> parse_blacklist_entry(const std::string& text) {
  if (text.size() == 2 * peer_id::size)
    if (auto id = peer_id_from_hex(text)) {
      blacklist_entry e;
      e.kind = blacklist_kind::peer;
      e.peer = *id;
      return e;
    }
  return parse_address_or_subnet(text);
}

std::vector<blacklist_entry> node_options::blacklist_entries() const {
  std::vector<blacklist_entry> out;
  for (auto& text : blacklist)
    if (auto e = parse_blacklist_entry(text))
      out.push_back(*e);
  return out;
}

std::variant<std::string, reload_plan>
plan_reload(int argc, char** argv, const std::string& running_ini,
            const std::vector<std::string>& running_blacklist) {
  auto path = node_options::config_file(argc, argv);
  if (path.empty())
    return std::string{"no configuration file (crust-node.ini in the working directory, or "
                       "--config-file)"};
  std::ifstream f{path, std::ios::binary};
  if (!f)
    return "cannot read " + path;
  std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  if (auto problem = node_options::precheck_ini(text))
    return path + ": " + *problem;
  node_options opts;
  if (auto err = opts.parse(argc, argv, "crust-node.ini")) {
    // CAF names the line and column only: quote the line too.
    auto why = caf::actor_system_config::render(err);
    auto at = why.find("\"line\" = ");
    if (at != std::string::npos) {
      auto n = std::strtoul(why.c_str() + at + 9, nullptr, 10);
      std::string line;
      size_t i = 0;
      for (size_t k = 1; k < n && i != std::string::npos; ++k)
        i = text.find('\n', i) == std::string::npos ? std::string::npos : text.find('\n', i) + 1;
      if (i != std::string::npos)
        line = text.substr(i, text.find('\n', i) - i);
      if (!line.empty())
        why += ", line " + std::to_string(n) + ": " + line;
    }
    return path + ": " + why;
  }
  if (auto unknown = opts.unknown_keys(); !unknown.empty())
    return path + ": unknown configuration key '" + unknown.front() + "'";
  auto converted = opts.to_node_config();
  if (auto problems = std::get_if<std::vector<std::string>>(&converted))
    return path + ": bad option " + problems->front();
  auto& cfg = std::get<node_config>(converted);
  reload_plan plan;
  plan.ini_text = text;
  plan.live.max_connections = cfg.limits.max_connections;
  plan.live.max_half_open = cfg.limits.max_half_open;
  plan.live.max_half_open_per_address = cfg.limits.max_half_open_per_address;
  plan.live.connection_rate = cfg.limits.connection_rate;
  plan.live.connection_burst = cfg.limits.connection_burst;
  plan.live.receive_rate = cfg.limits.receive_rate;
  plan.live.receive_queue = cfg.limits.receive_queue;
  plan.live.allow_only = cfg.limits.allow_only;
  plan.live.log_level = to_string(cfg.log);
  plan.live.contacts = cfg.contacts;
  plan.live.beacon = to_string(cfg.discovery.beacon);
  plan.live.beacon_port = cfg.discovery.beacon_port;
  plan.live.beacon_interval_ms = static_cast<uint64_t>(cfg.discovery.beacon_interval.count());
  plan.live.gossip = cfg.discovery.gossip;
  plan.live.gossip_interval_ms = static_cast<uint64_t>(cfg.discovery.gossip_interval.count());
  plan.live.gossip_ttl = cfg.discovery.gossip_ttl;
  plan.live.gossip_fanout = cfg.discovery.gossip_fanout;
  // Blacklist entries last for the session: new ones are added now, one
  // taken out of the file stays until a restart.
  plan.blacklist = opts.blacklist;
  for (auto& text : opts.blacklist)
    if (std::find(running_blacklist.begin(), running_blacklist.end(), text)
        == running_blacklist.end())
      if (auto e = parse_blacklist_entry(text))
        plan.blacklist_added.push_back(*e);
  static const char* live_keys[] = {"max-connections", "max-half-open",
                                    "max-half-open-per-address", "connection-rate",
                                    "connection-burst", "receive-rate", "receive-queue",
                                    "allow-only", "log-level", "contacts", "beacon",
                                    "beacon-port", "beacon-interval", "no-gossip",
                                    "gossip-interval", "gossip-ttl", "gossip-fanout"};
  bool removed = std::any_of(running_blacklist.begin(), running_blacklist.end(),
                             [&](const std::string& x) {
                               return std::find(opts.blacklist.begin(), opts.blacklist.end(), x)
                                      == opts.blacklist.end();
                             });
  auto before = ini_keys(running_ini);
  auto after = ini_keys(text);
  auto note = [&](const std::string& key) {
    if (std::find(std::begin(live_keys), std::end(live_keys), key) == std::end(live_keys)
        && std::find(plan.restart.begin(), plan.restart.end(), key) == plan.restart.end())
      plan.restart.push_back(key);
  };
  for (auto& [k, v] : after)
    if (k != "blacklist" && (before.count(k) == 0 || before.at(k) != v))
      note(k);
  for (auto& [k, v] : before)
    if (k != "blacklist" && after.count(k) == 0)
      note(k);
  if (removed)
    plan.restart.push_back("blacklist (an entry taken out)");
  return plan;
}

std::optional<std::pair<std::string, uint16_t>> parse_http_address(const std::string& text) {
  auto port_of = [](const std::string& x) -> std::optional<uint16_t> {
    if (x.empty() || x.size() > 5 || !std::all_of(x.begin(), x.end(), ::isdigit))
      return std::nullopt;
    auto v = std::stoul(x);
    if (v > 65535)
      return std::nullopt;
    return static_cast<uint16_t>(v);
  };
  if (auto p = port_of(text))
    return std::make_pair(std::string{"127.0.0.1"}, *p);
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon)
      return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto p = port_of(port);
  if (!p || !is_ip_address(host))
    return std::nullopt;
  return std::make_pair(host, *p);
}

std::optional<std::string> node_options::precheck_ini(const std::string& text) {
  size_t line = 1;
  bool in_string = false;
  bool in_comment = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      in_comment = false;
      in_string = false;
      continue;
    }
    if (in_comment)
      continue;
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == ';' || c == '#')
      in_comment = true;
    else if (c == '{' || c == '}')
      return "line " + std::to_string(line) + ": '" + std::string(1, c)
             + "': crust-node's configuration has no map values";
  }
  return std::nullopt;
}

std::string node_options::config_file(int argc, char** argv) {
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--config-file=", 0) == 0)
      path = a.substr(14);
  }
  if (path.empty()) {
    std::ifstream probe{"crust-node.ini"};
    if (probe)
      path = "crust-node.ini";
  }
  return path;
}

std::vector<std::string> node_options::unknown_keys() const {
  std::vector<std::string> result;
  collect_unknown(custom_options_, content, "", result);
  return result;
}

std::string node_options::identity_path() const {
  if (!identity_file.empty())
    return identity_file;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.config/crust/identity";
}

std::string node_options::bootstrap_cache_path() const {
  if (bootstrap_cache == "none")
    return {};
  if (!bootstrap_cache.empty())
    return bootstrap_cache;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? std::string(xdg) : std::string(home ? home : ".") + "/.cache";
  return base + "/crust/" + network + ".bootstrap";
}

std::variant<node_config, std::vector<std::string>> node_options::to_node_config() const {
  std::vector<std::string> problems;
  node_config cfg;
  cfg.network = network;
  if (network.empty() || network.size() > 255)
    problems.push_back("network: must be 1 to 255 characters");
  if (role == "node")
    cfg.role = node_role::node;
  else if (role == "client")
    cfg.role = node_role::client;
  else
    problems.push_back("role: must be 'node' or 'client', not '" + role + "'");
  cfg.listen = !no_listen;
  cfg.listen_address = listen_address;
  if (!is_ip_address(listen_address))
    problems.push_back("listen-address: not a numeric address: '" + listen_address + "'");
  if (port < 0 || port > 65535)
    problems.push_back("port: must be 0 to 65535");
  else
    cfg.tcp_port = static_cast<uint16_t>(port);
  cfg.port_fallback = !no_port_fallback;
  for (auto& c : contacts) {
    if (auto ep = parse_endpoint(c))
      cfg.contacts.push_back(*ep);
    else
      problems.push_back("contacts: not an endpoint: '" + c + "'");
  }
  auto positive = [&](int64_t x, const char* name, int64_t max) {
    if (x <= 0 || x > max)
      problems.push_back(std::string(name) + ": must be 1 to " + std::to_string(max));
    return static_cast<size_t>(x);
  };
  cfg.max_message_size = positive(max_message_size, "max-message-size", int64_t{1} << 30);
  cfg.send_queue_limit = positive(send_queue_limit, "send-queue-limit", int64_t{1} << 34);
  cfg.io_threads = positive(io_threads, "io-threads", 64);
  auto duration = [&](caf::timespan x, const char* name) {
    if (x.count() <= 0)
      problems.push_back(std::string(name) + ": must be positive");
    return to_ms(x);
  };
  cfg.connect_timeout = duration(connect_timeout, "connect-timeout");
  cfg.handshake_timeout = duration(handshake_timeout, "handshake-timeout");
  cfg.keepalive_interval = duration(keepalive_interval, "keepalive-interval");
  cfg.peer_timeout = duration(peer_timeout, "peer-timeout");
  cfg.duplicate_grace = duration(duplicate_grace, "duplicate-grace");
  cfg.redial_min = duration(redial_min, "redial-min");
  cfg.redial_max = duration(redial_max, "redial-max");
  if (cfg.keepalive_interval >= cfg.peer_timeout)
    problems.push_back("keepalive-interval: must be shorter than peer-timeout");
  if (transport == "auto")
    cfg.transport = node_config::transport_mode::automatic;
  else if (transport == "tcp")
    cfg.transport = node_config::transport_mode::tcp_only;
  else if (transport == "udp")
    cfg.transport = node_config::transport_mode::udp_only;
  else
    problems.push_back("transport: must be auto, tcp or udp, not '" + transport + "'");
  cfg.udp = !no_udp;
  if (udp_port < 0 || udp_port > 65535)
    problems.push_back("udp-port: must be 0 to 65535");
  else
    cfg.udp_port = static_cast<uint16_t>(udp_port);
  cfg.udp_fallback_delay = duration(udp_fallback_delay, "udp-fallback-delay");
  if (udp_max_datagram < static_cast<int64_t>(cfg.rudp.max_datagram)
      || udp_max_datagram > static_cast<int64_t>(rudp::max_datagram_size))
    problems.push_back("udp-max-datagram: must be " + std::to_string(cfg.rudp.max_datagram)
                       + " to " + std::to_string(rudp::max_datagram_size));
  else
    cfg.rudp.max_probe_datagram = static_cast<size_t>(udp_max_datagram);
  if (no_udp && transport == "udp")
    problems.push_back("transport: 'udp' needs the UDP socket (drop no-udp)");
  auto& d = cfg.discovery;
  d.cache_path = bootstrap_cache_path();
  d.cache_capacity = positive(bootstrap_cache_size, "bootstrap-cache-size", 100000);
  d.cache_write_delay = duration(cache_write_delay, "cache-write-delay");
  d.bootstrap_target = positive(bootstrap_target, "bootstrap-target", 10000);
  d.bootstrap_parallel = positive(bootstrap_parallel, "bootstrap-parallel", 256);
  d.bootstrap_attempt_timeout = duration(bootstrap_attempt_timeout, "bootstrap-attempt-timeout");
  d.bootstrap_backoff_min = duration(bootstrap_backoff_min, "bootstrap-backoff-min");
  d.bootstrap_backoff_max = duration(bootstrap_backoff_max, "bootstrap-backoff-max");
  if (d.bootstrap_backoff_max < d.bootstrap_backoff_min)
    problems.push_back("bootstrap-backoff-max: must not be below bootstrap-backoff-min");
  if (beacon == "off")
    d.beacon = beacon_mode::off;
  else if (beacon == "ipv4")
    d.beacon = beacon_mode::ipv4;
  else if (beacon == "ipv6")
    d.beacon = beacon_mode::ipv6;
  else if (beacon == "both")
    d.beacon = beacon_mode::both;
  else
    problems.push_back("beacon: must be off, ipv4, ipv6 or both, not '" + beacon + "'");
  if (beacon_port <= 0 || beacon_port > 65535)
    problems.push_back("beacon-port: must be 1 to 65535");
  else
    d.beacon_port = static_cast<uint16_t>(beacon_port);
  d.beacon_interval = duration(beacon_interval, "beacon-interval");
  d.gossip = !no_gossip;
  d.gossip_interval = duration(gossip_interval, "gossip-interval");
  d.gossip_ttl = static_cast<uint8_t>(positive(gossip_ttl, "gossip-ttl", 16));
  d.gossip_fanout = positive(gossip_fanout, "gossip-fanout", 64);
  cfg.nat.enabled = !no_nat;
  for (auto& x : stun_servers) {
    auto ep = parse_endpoint(x);
    if (!ep || ep->proto != protocol::udp)
      problems.push_back("stun-servers: not a UDP endpoint: '" + x + "'");
    else
      cfg.nat.stun_servers.push_back(*ep);
  }
  cfg.nat.traversal_timeout = duration(traversal_timeout, "traversal-timeout");
  cfg.nat.serve_rendezvous = !no_rendezvous;
  cfg.nat.tcp_punch = !no_tcp_punch;
  cfg.aesgcm = !no_aesgcm;
  if (no_reachability) {
    cfg.nat.reachability_peers = 0;
    cfg.nat.serve_reachability = false;
  }
  cfg.nat.serve_relay = relay;
  cfg.nat.upnp = upnp;
  cfg.nat.relay.max_circuits = positive(relay_circuits, "relay-circuits", 100000);
  cfg.nat.relay.circuits_per_peer =
    positive(relay_circuits_per_peer, "relay-circuits-per-peer", 100000);
  cfg.nat.relay.max_bytes = positive(relay_max_bytes, "relay-max-bytes", int64_t{1} << 40);
  cfg.nat.relay.max_duration = std::chrono::duration_cast<std::chrono::seconds>(
    duration(relay_max_duration, "relay-max-duration"));
  if (relay_upgrade.count() < 0)
    problems.push_back("relay-upgrade: must not be negative");
  cfg.nat.relay_upgrade = to_ms(relay_upgrade);
  auto bounded = [&](int64_t x, const char* name, int64_t hi) {
    if (x < 0 || x > hi)
      problems.push_back(std::string(name) + ": must be 0 to " + std::to_string(hi));
    return static_cast<size_t>(std::clamp<int64_t>(x, 0, hi));
  };
  cfg.nat.birthday.probes = bounded(birthday_probes, "birthday-probes", 64512);
  cfg.nat.birthday.probes_per_second = std::max<size_t>(
    bounded(birthday_rate, "birthday-rate", 100000), 1);
  if (birthday_rate == 0)
    problems.push_back("birthday-rate: must be at least 1");
  cfg.nat.birthday.sockets = bounded(birthday_sockets, "birthday-sockets", 1024);
  auto& lim = cfg.limits;
  lim.max_connections = positive(max_connections, "max-connections", 1000000);
  lim.max_half_open = positive(max_half_open, "max-half-open", 1000000);
  lim.max_half_open_per_address = positive(max_half_open_per_address,
                                           "max-half-open-per-address", 1000000);
  if (!(connection_rate >= 0 && connection_rate <= 1e6))
    problems.push_back("connection-rate: must be 0 to 1000000");
  lim.connection_rate = connection_rate;
  lim.connection_burst = positive(connection_burst, "connection-burst", 1000000);
  if (receive_rate < 0 || receive_rate > (int64_t{1} << 40))
    problems.push_back("receive-rate: must be 0 to " + std::to_string(int64_t{1} << 40));
  lim.receive_rate = static_cast<size_t>(std::max<int64_t>(0, receive_rate));
  lim.receive_queue = positive(receive_queue, "receive-queue", int64_t{1} << 34);
  lim.allow_only = allow_only;
  lim.alert_interval = duration(alert_interval, "alert-interval");
  if (auto err = admission_control::check(lim))
    problems.push_back("allow-only: " + *err);
  if (auto lvl = parse_log_level(log_level))
    cfg.log = *lvl;
  else
    problems.push_back("log-level: must be off, error, warning, info, debug or trace, not '"
                       + log_level + "'");
  if (control != "stdio" && control != "none")
    problems.push_back("control: must be 'stdio' or 'none'");
  for (auto& entry : blacklist)
    if (!parse_blacklist_entry(entry))
      problems.push_back("blacklist: not a peer id, address or subnet: '" + entry + "'");
  if (!metrics_address.empty() && !parse_http_address(metrics_address))
    problems.push_back("metrics-address: want PORT, ADDRESS:PORT or [IPV6]:PORT, not '"
                       + metrics_address + "'");
  if (routing != "none" && routing != "xor")
    problems.push_back("routing: must be 'none' or 'xor', not '" + routing + "'");
  if (keep < 1 || keep > 1024)
    problems.push_back("keep: must be 1 to 1024");
  if (random_peers < 0 || random_peers > 1024)
    problems.push_back("random-peers: must be 0 to 1024");
  if (!problems.empty())
    return problems;
  return cfg;
}

} // namespace crust
