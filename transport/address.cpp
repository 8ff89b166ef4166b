#include "transport/address.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <string>

namespace crust {

namespace asio = boost::asio;

bool is_ip_address(std::string_view text) {
  boost::system::error_code err;
  asio::ip::make_address(std::string(text), err);
  return !err;
}

bool is_global_ipv6(std::string_view text) {
  boost::system::error_code err;
  auto addr = asio::ip::make_address(std::string(text), err);
  if (err || !addr.is_v6())
    return false;
  auto v6 = addr.to_v6();
  return !v6.is_link_local() && !v6.is_loopback() && !v6.is_unspecified() && !v6.is_v4_mapped();
}

std::optional<endpoint> parse_endpoint(std::string_view text) {
  endpoint result;
  if (text.rfind("tcp://", 0) == 0) {
    text.remove_prefix(6);
  } else if (text.rfind("udp://", 0) == 0) {
    result.proto = protocol::udp;
    text.remove_prefix(6);
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size())
    return std::nullopt;
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    return std::nullopt; // IPv6 needs brackets
  unsigned port = 0;
  auto [end, err] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (err != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    return std::nullopt;
  boost::system::error_code ec_;
  auto addr = asio::ip::make_address(std::string(host), ec_);
  if (ec_)
    return std::nullopt;
  result.address = addr.to_string();
  result.port = static_cast<uint16_t>(port);
  return result;
}

endpoint from_asio(const asio::ip::tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  return endpoint{protocol::tcp, addr.to_string(), ep.port()};
}

std::optional<asio::ip::tcp::endpoint> to_asio_tcp(const endpoint& ep) {
  boost::system::error_code err;
  auto addr = asio::ip::make_address(ep.address, err);
  if (err)
    return std::nullopt;
  return asio::ip::tcp::endpoint(addr, ep.port);
}

} // namespace crust
