#include "transport/local_interfaces.hpp"

#include <boost/asio/ip/address.hpp>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>

namespace crust {

std::vector<local_interface> local_interfaces() {
  std::vector<local_interface> result;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0)
    return result;
  for (auto* i = list; i != nullptr; i = i->ifa_next) {
    if (!i->ifa_addr || (i->ifa_flags & IFF_UP) == 0)
      continue;
    auto family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6)
      continue;
    local_interface x;
    x.name = i->ifa_name;
    x.index = ::if_nametoindex(i->ifa_name);
    x.loopback = (i->ifa_flags & IFF_LOOPBACK) != 0;
    x.multicast = (i->ifa_flags & IFF_MULTICAST) != 0;
    char buf[INET6_ADDRSTRLEN] = {};
    if (family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      ::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
      x.address = buf;
      x.link_local = (ntohl(sin->sin_addr.s_addr) >> 16) == 0xa9fe;
      if ((i->ifa_flags & IFF_BROADCAST) != 0) {
        in_addr b{};
        if (i->ifa_broadaddr)
          b = reinterpret_cast<sockaddr_in*>(i->ifa_broadaddr)->sin_addr;
        // An address added without "brd" has none: derive it from the mask.
        // (glibc then reports the address itself, or nothing.)
        if ((b.s_addr == 0 || b.s_addr == sin->sin_addr.s_addr) && i->ifa_netmask) {
          auto mask = reinterpret_cast<sockaddr_in*>(i->ifa_netmask)->sin_addr.s_addr;
          b.s_addr = (sin->sin_addr.s_addr & mask) | ~mask;
        }
        if (b.s_addr != 0 && b.s_addr != sin->sin_addr.s_addr) {
          char bb[INET_ADDRSTRLEN] = {};
          ::inet_ntop(AF_INET, &b, bb, sizeof bb);
          x.broadcast = bb;
        }
      }
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      ::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
      x.address = buf;
      x.ipv6 = true;
      x.link_local = IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr);
    }
    result.push_back(std::move(x));
  }
  ::freeifaddrs(list);
  return result;
}

std::vector<endpoint> reachable_endpoints(const std::vector<endpoint>& listening) {
  std::vector<endpoint> result;
  auto add = [&](endpoint ep) {
    if (std::find(result.begin(), result.end(), ep) == result.end())
      result.push_back(std::move(ep));
  };
  std::vector<local_interface> ifs;
  bool have_ifs = false;
  for (auto& ep : listening) {
    boost::system::error_code err;
    auto addr = boost::asio::ip::make_address(ep.address, err);
    if (err || !addr.is_unspecified()) {
      add(ep);
      continue;
    }
    if (!have_ifs) {
      ifs = local_interfaces();
      have_ifs = true;
    }
    bool any_v6 = addr.is_v6(); // "::" listens on both families
    std::vector<endpoint> loopbacks;
    size_t before = result.size();
    for (auto& i : ifs) {
      if (i.link_local || (i.ipv6 && !any_v6))
        continue;
      endpoint x{ep.proto, i.address, ep.port};
      if (i.loopback)
        loopbacks.push_back(x);
      else
        add(x);
    }
    if (result.size() == before)
      for (auto& x : loopbacks)
        add(x);
  }
  return result;
}

} // namespace crust
