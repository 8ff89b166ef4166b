#include "actors/blacklist.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <array>

namespace crust {

namespace asio = boost::asio;

namespace {

/// The address as 16 bytes (IPv4 as IPv4-mapped IPv6) and its prefix offset.
std::optional<std::array<uint8_t, 16>> address_bytes(const std::string& text, bool& is_v4) {
  boost::system::error_code err;
  auto addr = asio::ip::make_address(text, err);
  if (err)
    return std::nullopt;
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  is_v4 = addr.is_v4();
  auto v6 = addr.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, addr.to_v4())
                         : addr.to_v6();
  return v6.to_bytes();
}

/// True when `address` lies in `network`/`prefix_len` (an IPv4 prefix counts
/// IPv4 bits; 128 or more means the whole address).
bool in_subnet(const std::string& address, const std::string& network, unsigned prefix_len) {
  bool a_v4 = false, n_v4 = false;
  auto a = address_bytes(address, a_v4);
  auto n = address_bytes(network, n_v4);
  if (!a || !n || a_v4 != n_v4)
    return false;
  unsigned bits = std::min(128u, (n_v4 ? 96u : 0u) + prefix_len);
  for (unsigned i = 0; i < 16 && bits > 0; ++i) {
    unsigned take = std::min(bits, 8u);
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - take));
    if (((*a)[i] & mask) != ((*n)[i] & mask))
      return false;
    bits -= take;
  }
  return true;
}

} // namespace

std::optional<std::string> address_blacklist::add(const blacklist_entry& entry) {
  if (entry.kind != blacklist_kind::peer) {
    bool v4 = false;
    if (!address_bytes(entry.address, v4))
      return "not a numeric address: " + entry.address;
    if (entry.kind == blacklist_kind::subnet && entry.prefix_len > (v4 ? 32 : 128))
      return "prefix length too long: " + std::to_string(entry.prefix_len);
  } else if (entry.peer.empty()) {
    return std::string("empty peer id");
  }
  entries_.push_back(entry);
  return std::nullopt;
}

bool address_blacklist::matches(const blacklist_entry& entry, const peer_id& peer,
                                const std::string& address) {
  switch (entry.kind) {
    case blacklist_kind::peer:
      return entry.peer == peer;
    case blacklist_kind::address:
      return in_subnet(address, entry.address, 128);
    case blacklist_kind::subnet:
      return in_subnet(address, entry.address, entry.prefix_len);
  }
  return false;
}

bool address_blacklist::blocks_peer(const peer_id& peer) const {
  for (auto& e : entries_)
    if (e.kind == blacklist_kind::peer && e.peer == peer)
      return true;
  return false;
}

bool address_blacklist::blocks_address(const std::string& address) const {
  for (auto& e : entries_)
    if (e.kind != blacklist_kind::peer && matches(e, peer_id{}, address))
      return true;
  return false;
}

} // namespace crust
