#pragma once

#include "messages/endpoint.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <optional>
#include <string_view>

namespace crust {

/// Parses "tcp://127.0.0.1:5000", "udp://[::1]:7", "127.0.0.1:5000" (TCP) or
/// "[::1]:5000". Only numeric addresses: crust never resolves names.
std::optional<endpoint> parse_endpoint(std::string_view text);

/// True when `text` is a numeric IPv4 or IPv6 address.
bool is_ip_address(std::string_view text);

/// True when a numeric address is IPv6 (its text has a colon).
inline bool is_ipv6_address(std::string_view text) {
  return text.find(':') != std::string_view::npos;
}

/// A global IPv6 address: IPv6 and neither link-local, loopback,
/// unspecified nor IPv4-mapped.
bool is_global_ipv6(std::string_view text);

/// The endpoint of an Asio TCP endpoint; IPv4-mapped IPv6 addresses (from a
/// dual-stack listener) come out as plain IPv4.
endpoint from_asio(const boost::asio::ip::tcp::endpoint& ep);

/// The Asio endpoint for `ep` (whose address must be numeric).
std::optional<boost::asio::ip::tcp::endpoint> to_asio_tcp(const endpoint& ep);

} // namespace crust
