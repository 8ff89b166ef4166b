#include "control_protocol.hpp"

#include "transport/address.hpp"
#include "transport/hex.hpp"

#include <charconv>

namespace crust::control {

using json = nlohmann::json;

namespace {

/// The "peer" field as a peer id, or an error message.
std::variant<peer_id, std::string> peer_field(const json& j) {
  if (!j.contains("peer") || !j["peer"].is_string())
    return std::string("missing \"peer\" (64 hex digits)");
  auto id = peer_id_from_hex(j["peer"].get<std::string>());
  if (!id)
    return std::string("\"peer\" must be 64 hex digits");
  return *id;
}

std::variant<bytes, std::string> payload_field(const json& j) {
  if (j.contains("data")) {
    if (!j["data"].is_string())
      return std::string("\"data\" must be a string");
    auto s = j["data"].get<std::string>();
    return bytes(s.begin(), s.end());
  }
  if (j.contains("hex")) {
    if (!j["hex"].is_string())
      return std::string("\"hex\" must be a string");
    auto b = from_hex(j["hex"].get<std::string>());
    if (!b)
      return std::string("\"hex\" is not valid hex");
    return *b;
  }
  return std::string("send needs \"data\" (text) or \"hex\"");
}

std::variant<blacklist_entry, std::string> blacklist_fields(const json& j) {
  blacklist_entry e;
  if (j.contains("peer")) {
    auto p = peer_field(j);
    if (auto err = std::get_if<std::string>(&p))
      return *err;
    e.kind = blacklist_kind::peer;
    e.peer = std::get<peer_id>(p);
    return e;
  }
  if (j.contains("address") && j["address"].is_string()) {
    e.kind = blacklist_kind::address;
    e.address = j["address"].get<std::string>();
    if (!is_ip_address(e.address))
      return "\"address\" must be a numeric IP address";
    return e;
  }
  if (j.contains("subnet") && j["subnet"].is_string()) {
    auto text = j["subnet"].get<std::string>();
    auto slash = text.find('/');
    if (slash == std::string::npos)
      return std::string("\"subnet\" must look like 10.0.0.0/8");
    e.kind = blacklist_kind::subnet;
    e.address = text.substr(0, slash);
    unsigned len = 0;
    auto digits = std::string_view(text).substr(slash + 1);
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (err != std::errc{} || end != digits.data() + digits.size() || !is_ip_address(e.address)
        || len > (e.address.find(':') == std::string::npos ? 32u : 128u))
      return std::string("\"subnet\" must look like 10.0.0.0/8");
    e.prefix_len = static_cast<uint8_t>(len);
    return e;
  }
  return std::string("blacklist needs \"peer\", \"address\" or \"subnet\"");
}

} // namespace

std::variant<command, std::string> parse_command(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded())
    return std::string("not valid JSON");
  if (!j.is_object())
    return std::string("a command must be a JSON object");
  if (!j.contains("cmd") || !j["cmd"].is_string())
    return std::string("missing \"cmd\"");
  command result;
  if (j.contains("id"))
    result.id = j["id"];
  auto cmd = j["cmd"].get<std::string>();
  if (cmd == "connect") {
    if (!j.contains("endpoint") || !j["endpoint"].is_string())
      return std::string("connect needs \"endpoint\", e.g. \"tcp://127.0.0.1:5483\"");
    auto ep = parse_endpoint(j["endpoint"].get<std::string>());
    if (!ep)
      return "not an endpoint: " + j["endpoint"].get<std::string>();
    result.body = crust::connect{*ep};
    return result;
  }
  if (cmd == "send") {
    auto p = peer_field(j);
    if (auto err = std::get_if<std::string>(&p))
      return *err;
    auto payload = payload_field(j);
    if (auto err = std::get_if<std::string>(&payload))
      return *err;
    send_request req;
    req.msg.peer = std::get<peer_id>(p);
    req.msg.payload = std::get<bytes>(std::move(payload));
    if (j.contains("priority")) {
      if (!j["priority"].is_number_unsigned() || j["priority"].get<uint64_t>() > 3)
        return std::string("\"priority\" must be 0 (urgent) to 3 (bulk)");
      req.msg.priority = static_cast<uint8_t>(j["priority"].get<uint64_t>());
    }
    if (j.contains("count")) {
      if (!j["count"].is_number_unsigned() || j["count"].get<uint64_t>() == 0
          || j["count"].get<uint64_t>() > 10'000'000)
        return std::string("\"count\" must be 1 to 10000000");
      req.count = j["count"].get<uint64_t>();
    }
    result.body = std::move(req);
    return result;
  }
  if (cmd == "maintain" || cmd == "drop") {
    auto p = peer_field(j);
    if (auto err = std::get_if<std::string>(&p))
      return *err;
    if (cmd == "maintain")
      result.body = crust::maintain{std::get<peer_id>(p)};
    else
      result.body = crust::drop{std::get<peer_id>(p)};
    return result;
  }
  if (cmd == "blacklist") {
    auto e = blacklist_fields(j);
    if (auto err = std::get_if<std::string>(&e))
      return *err;
    result.body = crust::blacklist{std::get<blacklist_entry>(e)};
    return result;
  }
  if (cmd == "connect_via") {
    auto p = peer_field(j);
    if (auto err = std::get_if<std::string>(&p))
      return *err;
    if (!j.contains("through") || !j["through"].is_string())
      return std::string("connect_via needs \"through\": the rendezvous peer (64 hex digits)");
    auto through = peer_id_from_hex(j["through"].get<std::string>());
    if (!through)
      return std::string("\"through\" must be 64 hex digits");
    result.body = crust::connect_via{std::get<peer_id>(p), *through};
    return result;
  }
  if (cmd == "prepare_info") {
    crust::prepare_connection_info req;
    if (j.contains("token")) {
      if (!j["token"].is_number_unsigned())
        return std::string("\"token\" must be an unsigned number");
      req.token = j["token"].get<uint64_t>();
    }
    result.body = req;
    return result;
  }
  if (cmd == "connect_info") {
    if (!j.contains("ours") || !j.contains("theirs"))
      return std::string("connect_info needs \"ours\" and \"theirs\" (as prepare_info gives them)");
    auto ours = info_from_json(j["ours"]);
    if (auto err = std::get_if<std::string>(&ours))
      return "\"ours\": " + *err;
    auto theirs = info_from_json(j["theirs"]);
    if (auto err = std::get_if<std::string>(&theirs))
      return "\"theirs\": " + *err;
    result.body = crust::connect_with_info{std::get<connection_info>(std::move(ours)),
                                           std::get<connection_info>(std::move(theirs))};
    return result;
  }
  if (cmd == "peers")
    result.body = peers_request{};
  else if (cmd == "info")
    result.body = info_request{};
  else if (cmd == "stats")
    result.body = stats_request{};
  else if (cmd == "bootstrap")
    result.body = bootstrap_request{};
  else if (cmd == "bootstrap_start")
    result.body = bootstrap_start_request{};
  else if (cmd == "bootstrap_stop")
    result.body = bootstrap_stop_request{};
  else if (cmd == "listen")
    result.body = listen_request{};
  else if (cmd == "unlisten")
    result.body = unlisten_request{};
  else if (cmd == "quit")
    result.body = quit_request{};
  else if (cmd == "nat")
    result.body = nat_request{};
  else
    return "unknown command \"" + cmd
           + "\" (connect, send, maintain, drop, blacklist, peers, info, stats, bootstrap, "
             "bootstrap_start, bootstrap_stop, connect_via, prepare_info, connect_info, nat, "
             "listen, unlisten, quit)";
  return result;
}

bytes numbered_payload(const bytes& base, uint64_t i, uint64_t count) {
  if (count <= 1)
    return base;
  bytes out = base;
  auto suffix = " " + std::to_string(i);
  out.insert(out.end(), suffix.begin(), suffix.end());
  return out;
}

void put_payload(json& j, const bytes& payload) {
  bool printable = true;
  for (auto b : payload)
    if (b < 0x20 || b > 0x7e) {
      printable = false;
      break;
    }
  if (printable)
    j["data"] = std::string(payload.begin(), payload.end());
  else
    j["hex"] = to_hex(payload);
  j["size"] = payload.size();
}

json to_json(const connection_up& x) {
  json j{{"event", "connection_up"},     {"peer", to_string(x.peer)},
          {"endpoint", to_string(x.remote)}, {"direction", to_string(x.dir)},
          {"transport", to_string(x.transport)}, {"role", to_string(x.role)},
          {"path", to_string(x.path)}};
  if (x.dialled.port != 0)
    j["dialled"] = to_string(x.dialled);
  if (x.observed.port != 0)
    j["observed"] = to_string(x.observed);
  return j;
}

namespace {

json endpoint_list(const std::vector<endpoint>& xs) {
  json out = json::array();
  for (auto& ep : xs)
    out.push_back(to_string(ep));
  return out;
}

std::variant<std::vector<endpoint>, std::string> endpoints_from(const json& j, const char* key) {
  std::vector<endpoint> out;
  if (!j.contains(key))
    return out;
  if (!j[key].is_array() || j[key].size() > 8)
    return std::string("\"") + key + "\" must be a list of at most 8 endpoints";
  for (auto& x : j[key]) {
    auto ep = x.is_string() ? parse_endpoint(x.get<std::string>()) : std::nullopt;
    if (!ep)
      return std::string("not an endpoint in \"") + key + "\": " + x.dump();
    out.push_back(*ep);
  }
  return out;
}

} // namespace

json to_json(const connection_info& x) {
  return {{"peer", to_string(x.peer)},
          {"local", endpoint_list(x.local)},
          {"external", endpoint_list(x.external)},
          {"nat", to_string(x.nat)}};
}

std::variant<connection_info, std::string> info_from_json(const json& j) {
  if (!j.is_object())
    return std::string("connection info must be an object");
  connection_info info;
  auto p = peer_field(j);
  if (auto err = std::get_if<std::string>(&p))
    return *err;
  info.peer = std::get<peer_id>(p);
  auto local = endpoints_from(j, "local");
  if (auto err = std::get_if<std::string>(&local))
    return *err;
  info.local = std::get<std::vector<endpoint>>(std::move(local));
  auto external = endpoints_from(j, "external");
  if (auto err = std::get_if<std::string>(&external))
    return *err;
  info.external = std::get<std::vector<endpoint>>(std::move(external));
  if (j.contains("nat")) {
    if (!j["nat"].is_string())
      return std::string("\"nat\" must be a string");
    auto name = j["nat"].get<std::string>();
    bool known = false;
    for (auto c : {nat_class::unknown, nat_class::none, nat_class::endpoint_independent,
                   nat_class::endpoint_dependent})
      if (to_string(c) == name) {
        info.nat = c;
        known = true;
      }
    if (!known)
      return "unknown \"nat\": " + name;
  }
  return info;
}

json to_json(const connection_info_prepared& x) {
  return {{"event", "connection_info"}, {"token", x.token}, {"info", to_json(x.info)}};
}

json to_json(const traversal_failed& x) {
  return {{"event", "traversal_failed"},
          {"peer", to_string(x.peer)},
          {"reason", to_string(x.reason)},
          {"detail", x.detail}};
}

json to_json(const nat_status& x) {
  return {{"event", "nat"},
          {"nat", to_string(x.nat)},
          {"external", endpoint_list(x.external)},
          {"stun_servers_answered", endpoint_list(x.stun_servers_answered)},
          {"observed_address", x.observed_address},
          {"upnp", x.upnp},
          {"upnp_mapped", endpoint_list(x.upnp_mapped)},
          {"punches_sent", x.punches_sent},
          {"traversals_started", x.traversals_started},
          {"traversals_succeeded", x.traversals_succeeded},
          {"traversals_failed", x.traversals_failed},
          {"introductions_served", x.introductions_served},
          {"relayed_circuits", x.relayed_circuits},
          {"relayed_bytes", x.relayed_bytes},
          {"reachable", endpoint_list(x.reachable)},
          {"unreachable", endpoint_list(x.unreachable)},
          {"probes_served", x.probes_served},
          {"upgrades_tried", x.upgrades_tried},
          {"upgrades_succeeded", x.upgrades_succeeded},
          {"relay_circuits_open", x.relay_circuits_open},
          {"birthday_probes", x.birthday_probes},
          {"birthday_sockets", x.birthday_sockets},
          {"birthday_attempts", x.birthday_attempts},
          {"birthday_succeeded", x.birthday_succeeded}};
}

json to_json(const connection_down& x) {
  return {{"event", "connection_down"}, {"peer", to_string(x.peer)},
          {"reason", to_string(x.reason)}};
}

json to_json(const path_changed& x) {
  return {{"event", "path_changed"},         {"peer", to_string(x.peer)},
          {"endpoint", to_string(x.remote)}, {"transport", to_string(x.transport)},
          {"from", to_string(x.from)},       {"path", to_string(x.to)}};
}

json to_json(const message& x) {
  json j{{"event", "message"}, {"peer", to_string(x.peer)}};
  put_payload(j, x.payload);
  return j;
}

json to_json(const listening& x) {
  json eps = json::array();
  for (auto& ep : x.endpoints)
    eps.push_back(to_string(ep));
  return {{"event", "listening"}, {"endpoints", eps}};
}

json to_json(const alert& x) {
  json j{{"event", "alert"},      {"kind", to_string(x.kind)}, {"reason", to_string(x.reason)},
         {"count", x.count},      {"detail", x.detail}};
  if (!x.address.empty())
    j["address"] = x.address;
  if (!x.peer.empty())
    j["peer"] = to_string(x.peer);
  return j;
}

json to_json(const connect_failed& x) {
  json j = {{"event", "connect_failed"}, {"endpoint", to_string(x.remote)},
            {"reason", to_string(x.reason)}};
  if (x.retry_after_ms > 0)
    j["retry_after_ms"] = x.retry_after_ms;
  return j;
}

json to_json(const send_failed& x) {
  return {{"event", "send_failed"}, {"peer", to_string(x.peer)},
          {"reason", to_string(x.reason)}, {"size", x.payload.size()}};
}

json peer_array(const std::vector<peer_info>& xs) {
  json peers = json::array();
  for (auto& x : xs)
    peers.push_back({{"peer", to_string(x.peer)},
                     {"endpoint", to_string(x.remote)},
                     {"direction", to_string(x.dir)},
                     {"role", to_string(x.role)},
                     {"transport", to_string(x.transport)},
                     {"path", to_string(x.path)},
                     {"maintained", x.maintained},
                     {"messages_sent", x.messages_sent},
                     {"messages_received", x.messages_received},
                     {"bytes_sent", x.bytes_sent},
                     {"bytes_received", x.bytes_received},
                     {"rtt_us", x.rtt_us},
                     {"cipher", x.cipher},
                     {"observed", x.observed.port == 0 ? std::string() : to_string(x.observed)}});
  return peers;
}

json to_json(const std::vector<peer_info>& xs) {
  return {{"event", "peers"}, {"peers", peer_array(xs)}};
}

json to_json(const node_stats& x) {
  return {{"event", "stats"},
          {"connections", x.connections},
          {"inbound", x.inbound},
          {"outbound", x.outbound},
          {"dials", x.dials},
          {"dials_failed", x.dials_failed},
          {"accepted", x.accepted},
          {"refused", x.refused},
          {"handshakes", x.handshakes},
          {"handshakes_failed", x.handshakes_failed},
          {"alerts", x.alerts},
          {"connections_closed", x.connections_closed},
          {"messages_sent", x.messages_sent},
          {"messages_received", x.messages_received},
          {"bytes_sent", x.bytes_sent},
          {"bytes_received", x.bytes_received},
          {"udp_retries", x.udp_retries},
          {"udp_refused", x.udp_refused},
          {"udp_half_open", x.udp_half_open},
          {"links", x.links},
          {"half_open", x.half_open},
          {"half_open_peak", x.half_open_peak},
          {"peers", peer_array(x.peers)}};
}

json to_json(const node_info& x) {
  json eps = json::array();
  for (auto& ep : x.listening)
    eps.push_back(to_string(ep));
  return {{"event", "info"},
          {"peer", to_string(x.id)},
          {"role", to_string(x.role)},
          {"network", x.network},
          {"listening", eps},
          {"connections", x.connections},
          {"protocol_version", x.protocol_version}};
}

json to_json(const peer_discovered& x) {
  json eps = json::array();
  for (auto& ep : x.endpoints)
    eps.push_back(to_string(ep));
  return {{"event", "peer_discovered"}, {"peer", to_string(x.peer)}, {"endpoints", eps},
          {"source", to_string(x.source)}};
}

json to_json(const bootstrap_status& x) {
  return {{"event", "bootstrap"},     {"state", to_string(x.state)},
          {"connected", x.connected}, {"tried", x.tried},
          {"remaining", x.remaining}, {"cached", x.cached},
          {"round", x.round},         {"retry_in_ms", x.retry_in_ms}};
}

json to_json(const std::vector<bootstrap_entry>& xs) {
  json entries = json::array();
  for (auto& x : xs)
    entries.push_back({{"endpoint", to_string(x.remote)},
                       {"peer", x.peer.empty() ? std::string() : to_string(x.peer)},
                       {"last_success", x.last_success},
                       {"direct", x.direct}});
  return {{"event", "bootstrap_list"}, {"entries", entries}};
}

json error_event(const std::string& what) {
  return {{"event", "error"}, {"message", what}};
}

} // namespace crust::control
