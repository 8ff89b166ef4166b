#pragma once

#include "actors/node_config.hpp"
#include "messages/commands.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace crust {

/// crust-node's options: every field of node_config, plus the identity file
/// and the control channel. CAF reads them from the command line
/// (`--port=5483`) and from an ini file (`--config-file=FILE`, default
/// `crust-node.ini` when present), where they live under `[global]`.
class node_options : public caf::actor_system_config {
public:
  node_options();

  // Raw values as CAF parses them; `to_node_config` checks them.
  std::string network = "crust";
  std::string role = "node";
  std::string listen_address = "::";
  int64_t port = 0;
  bool no_listen = false;
  bool no_port_fallback = false;
  std::vector<std::string> contacts;
  std::string identity_file;
  int64_t max_message_size = 2 * 1024 * 1024;
  int64_t send_queue_limit = 16 * 1024 * 1024;
  caf::timespan connect_timeout{std::chrono::seconds(5)};
  caf::timespan handshake_timeout{std::chrono::seconds(5)};
  caf::timespan keepalive_interval{std::chrono::milliseconds(2500)};
  caf::timespan peer_timeout{std::chrono::seconds(10)};
  caf::timespan duplicate_grace{std::chrono::seconds(3)};
  caf::timespan redial_min{std::chrono::milliseconds(500)};
  caf::timespan redial_max{std::chrono::seconds(30)};
  int64_t io_threads = 1;
  // Reliable UDP.
  std::string transport = "auto";
  bool no_udp = false;
  int64_t udp_port = 0;
  int64_t udp_max_datagram = 16384;
  caf::timespan udp_fallback_delay{std::chrono::milliseconds(250)};
  // Discovery.
  std::string bootstrap_cache;  ///< empty: the per-user default; "none": no file
  int64_t bootstrap_cache_size = 64;
  caf::timespan cache_write_delay{std::chrono::seconds(1)};
  int64_t bootstrap_target = 4;
  int64_t bootstrap_parallel = 4;
  caf::timespan bootstrap_attempt_timeout{std::chrono::seconds(10)};
  caf::timespan bootstrap_backoff_min{std::chrono::seconds(1)};
  caf::timespan bootstrap_backoff_max{std::chrono::seconds(30)};
  std::string beacon = "both";
  int64_t beacon_port = 5483;
  caf::timespan beacon_interval{std::chrono::seconds(10)};
  bool no_gossip = false;
  bool no_nat = false;
  std::vector<std::string> stun_servers;
  caf::timespan traversal_timeout{std::chrono::seconds(10)};
  bool no_rendezvous = false;
  bool no_tcp_punch = false;
  bool no_aesgcm = false;
  bool no_reachability = false;
  bool relay = false;
  bool upnp = false;
  int64_t relay_circuits = 64;
  int64_t relay_circuits_per_peer = 16;
  int64_t relay_max_bytes = int64_t{256} << 20;
  caf::timespan relay_max_duration{std::chrono::minutes(30)};
  caf::timespan relay_upgrade{std::chrono::seconds(30)};
  int64_t birthday_probes = 1024;
  int64_t birthday_rate = 500;
  int64_t birthday_sockets = 256;
  caf::timespan gossip_interval{std::chrono::seconds(30)};
  int64_t gossip_ttl = 4;
  int64_t gossip_fanout = 4;
  // DoS limits.
  int64_t max_connections = 4096;
  int64_t max_half_open = 256;
  int64_t max_half_open_per_address = 8;
  double connection_rate = 10.0;
  int64_t connection_burst = 20;
  int64_t receive_rate = 0;
  int64_t receive_queue = 8 * 1024 * 1024;
  std::vector<std::string> allow_only;
  caf::timespan alert_interval{std::chrono::seconds(1)};
  std::string log_level = "warning";
  std::string control = "stdio";
  std::string routing = "none";
  /// HTTP listener for Prometheus metrics and the status page: "" (off),
  /// "PORT" (loopback), "ADDRESS:PORT" or "[IPV6]:PORT".
  std::string metrics_address;
  /// Refused for this session, like the `blacklist` command: peer ids (64
  /// hex digits), addresses or subnets ("198.51.100.0/24").
  std::vector<std::string> blacklist;

  /// `blacklist`, parsed (to_node_config reports a bad entry).
  std::vector<blacklist_entry> blacklist_entries() const;
  int64_t keep = 8;
  int64_t random_peers = 2;
  bool version = false;

  /// Checks an ini file's text before CAF parses it: crust-node has no
  /// map-valued options, and CAF 0.17.6 silently drops a map given for a
  /// scalar (`port{}`) — and, built with clang, crashes on one given for a
  /// flag (`help{}`, found by the config fuzzer). So `{` and `}` outside
  /// strings and comments are refused with the line they are on.
  static std::optional<std::string> precheck_ini(const std::string& text);

  /// The config file crust-node will read: `--config-file=X`, else
  /// `crust-node.ini` (empty when that is absent).
  static std::string config_file(int argc, char** argv);

  /// Names every key in the loaded configuration that no option declares
  /// (the ini file's typos; CAF itself accepts them silently).
  std::vector<std::string> unknown_keys() const;

  /// The node configuration, or every problem found with the values.
  std::variant<node_config, std::vector<std::string>> to_node_config() const;

  /// The identity file path: the option, or ~/.config/crust/identity.
  std::string identity_path() const;

  /// The bootstrap cache path: the option, or
  /// $XDG_CACHE_HOME/crust/<network>.bootstrap (~/.cache/... without it);
  /// empty for "none".
  std::string bootstrap_cache_path() const;
};

/// What a reload (SIGHUP) found in the configuration file: the settings the
/// node takes live, and the changed ones that need a restart.
struct reload_plan {
  reconfigure live;                 ///< every live setting's new value
  std::vector<blacklist_entry> blacklist_added; ///< new `blacklist` entries
  std::vector<std::string> blacklist;           ///< the whole new list, as written
  std::vector<std::string> restart; ///< changed options the running node keeps
  std::string ini_text;             ///< the file as read
};

/// Re-reads the configuration file the node started with (`argc`/`argv`
/// as at start: command-line options still win) and compares it with
/// `running_ini`, the text it runs with. The file must pass every check a
/// start makes, else the answer says why and nothing is applied.
std::variant<std::string, reload_plan>
plan_reload(int argc, char** argv, const std::string& running_ini,
            const std::vector<std::string>& running_blacklist);

/// One `blacklist` entry: a peer id (64 hex digits), an address or a subnet.
std::optional<blacklist_entry> parse_blacklist_entry(const std::string& text);

/// The keys an ini text sets, as "key" for [global] and "section.key"
/// otherwise, with their values as written (comments and spaces dropped).
std::map<std::string, std::string> ini_keys(const std::string& text);

/// `metrics-address`'s value as an address and a port: "PORT" means
/// 127.0.0.1; "ADDRESS:PORT" and "[IPV6]:PORT" name the address (an IP
/// literal). None when it is none of these. Port 0: any free port.
std::optional<std::pair<std::string, uint16_t>> parse_http_address(const std::string& text);

} // namespace crust
