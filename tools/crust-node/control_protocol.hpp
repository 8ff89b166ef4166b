#pragma once

// crust-node's control channel: one JSON object per line. Commands come in on
// stdin, events go out on stdout. This file holds the pure translation
// between those lines and crust's typed messages; see README.md for the
// full list.

#include "messages/bootstrap_entry.hpp"
#include "messages/commands.hpp"
#include "messages/discovery_events.hpp"
#include "messages/events.hpp"
#include "messages/nat.hpp"
#include "messages/peer_info.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace crust::control {

/// `send` with a repeat count: `count` messages, numbered when count > 1.
struct send_request {
  crust::send msg;
  uint64_t count = 1;
};

struct peers_request {};
struct info_request {};
struct stats_request {};
struct bootstrap_request {};
struct listen_request {};
struct unlisten_request {};
struct quit_request {};
struct nat_request {};
struct bootstrap_start_request {};
struct bootstrap_stop_request {};

using command_body = std::variant<crust::connect, send_request, crust::maintain, crust::drop,
                                  crust::blacklist, peers_request, info_request, stats_request,
                                  bootstrap_request, crust::connect_via,
                                  crust::prepare_connection_info, crust::connect_with_info,
                                  nat_request, listen_request, unlisten_request, quit_request,
                                  bootstrap_start_request, bootstrap_stop_request>;

struct command {
  command_body body;
  nlohmann::json id; ///< echoed in the reply; null when absent
};

/// Parses one line, or says exactly what is wrong with it.
std::variant<command, std::string> parse_command(const std::string& line);

/// The payload of `send`'s i-th copy (i counts from 0).
bytes numbered_payload(const bytes& base, uint64_t i, uint64_t count);

// -- events as JSON lines -----------------------------------------------------

nlohmann::json to_json(const connection_up& x);
nlohmann::json to_json(const connection_down& x);
nlohmann::json to_json(const path_changed& x);
nlohmann::json to_json(const message& x);
nlohmann::json to_json(const listening& x);
nlohmann::json to_json(const alert& x);
nlohmann::json to_json(const connect_failed& x);
nlohmann::json to_json(const send_failed& x);
nlohmann::json to_json(const std::vector<peer_info>& x);
/// The peer table as the `peers` and `stats` answers (and /status.json) show it.
nlohmann::json peer_array(const std::vector<peer_info>& xs);
nlohmann::json to_json(const node_info& x);
nlohmann::json to_json(const node_stats& x);
nlohmann::json to_json(const peer_discovered& x);
nlohmann::json to_json(const bootstrap_status& x);
nlohmann::json to_json(const std::vector<bootstrap_entry>& xs);
nlohmann::json to_json(const connection_info& x);
nlohmann::json to_json(const connection_info_prepared& x);
nlohmann::json to_json(const traversal_failed& x);
nlohmann::json to_json(const nat_status& x);
/// A connection info object as `to_json` writes it, or what is wrong.
std::variant<connection_info, std::string> info_from_json(const nlohmann::json& j);
nlohmann::json error_event(const std::string& what);

/// Payload as "data" (printable ASCII) or "hex" (anything else).
void put_payload(nlohmann::json& j, const bytes& payload);

} // namespace crust::control
