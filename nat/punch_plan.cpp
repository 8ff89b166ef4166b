#include "nat/punch_plan.hpp"

#include "nat/birthday.hpp"
#include "transport/address.hpp"

#include <algorithm>

namespace crust {

namespace {

template <class T>
void add_unique(std::vector<T>& xs, const T& x) {
  if (std::find(xs.begin(), xs.end(), x) == xs.end())
    xs.push_back(x);
}

/// A NAT that maps per destination gives our SYNs a port the peer cannot
/// predict; so may one we know nothing of, unless we listed where it maps
/// our listening port.
bool tcp_punch_hopeless(const connection_info& ours) {
  return ours.nat == nat_class::endpoint_dependent
         || (ours.nat == nat_class::unknown && !tcp_mapping_guess(ours));
}

/// A port its gateway forwards: dialable whatever the NAT.
bool forwarded(const connection_info& x) {
  auto guess = tcp_mapping_guess(x);
  for (auto& ep : x.external)
    if (ep.proto == protocol::tcp && ep != guess)
      return true;
  return false;
}

bool dependent(const connection_info& x) {
  return x.nat == nat_class::endpoint_dependent;
}

/// Our own mapping, as an endpoint-independent NAT gives it to everyone.
bool knows_mapping(const connection_info& x) {
  return x.nat == nat_class::endpoint_independent
         && std::any_of(x.external.begin(), x.external.end(),
                        [](const endpoint& ep) { return ep.proto == protocol::udp; });
}

/// Two sequential allocators: each side predicts the other's next mapping
/// and makes its own next one towards it, so each NAT's new mapping is the
/// one the other side sends to (exact prediction or nothing: a drift on
/// either side pairs the wrong ports).
bool lockstep(const connection_info& ours, const connection_info& theirs) {
  return dependent(ours) && dependent(theirs)
         && guess_allocation(ours) == port_allocation::sequential
         && guess_allocation(theirs) == port_allocation::sequential;
}

/// The address families (bit 1: IPv4, bit 2: IPv6) of an info's endpoints.
int families(const connection_info& x) {
  int out = 0;
  for (auto* list : {&x.local, &x.external})
    for (auto& ep : *list)
      out |= is_ipv6_address(ep.address) ? 2 : 1;
  return out;
}

} // namespace

std::optional<endpoint> tcp_mapping_guess(const connection_info& x) {
  if (x.nat != nat_class::unknown)
    return std::nullopt;
  for (auto& ext : x.external)
    if (ext.proto == protocol::tcp)
      for (auto& loc : x.local)
        if (loc.proto == protocol::tcp && loc.port == ext.port)
          return ext;
  return std::nullopt;
}

std::optional<endpoint> predicted_tcp_mapping(const connection_info& x) {
  if (auto guess = tcp_mapping_guess(x))
    return guess;
  if (x.nat != nat_class::endpoint_independent)
    return std::nullopt;
  std::optional<uint16_t> tcp_port;
  for (auto& ep : x.local)
    if (ep.proto == protocol::tcp && ep.port != 0) {
      tcp_port = ep.port;
      break;
    }
  if (!tcp_port)
    return std::nullopt;
  for (auto& ext : x.external) {
    if (ext.proto != protocol::udp)
      continue;
    for (auto& loc : x.local)
      if (loc.proto == protocol::udp && loc.port == ext.port)
        return endpoint{protocol::tcp, ext.address, *tcp_port}; // it keeps ports
  }
  return std::nullopt;
}

std::string to_string(probe_role x) {
  switch (x) {
    case probe_role::none: return "none";
    case probe_role::prober: return "prober";
    case probe_role::holder: return "holder";
  }
  return "none";
}

probe_role birthday_role(const connection_info& ours, const connection_info& theirs) {
  if (forwarded(ours) || forwarded(theirs))
    return probe_role::none;
  if (knows_mapping(ours) && !dependent_mappings(theirs).empty())
    return probe_role::prober;
  if (knows_mapping(theirs) && !dependent_mappings(ours).empty())
    return probe_role::holder;
  return probe_role::none;
}

bool punching_hopeless(const connection_info& ours, const connection_info& theirs) {
  auto nat = [](const connection_info& x) { return x.nat != nat_class::none; };
  if (families(ours) != 0 && families(theirs) != 0 && (families(ours) & families(theirs)) == 0)
    return true; // IPv6 only against IPv4 only: nothing to punch
  if (forwarded(ours) || forwarded(theirs))
    return false;
  if (dependent(ours) && dependent(theirs))
    return !lockstep(ours, theirs);
  bool one_hard = (dependent(ours) && nat(theirs)) || (dependent(theirs) && nat(ours));
  return one_hard && birthday_role(ours, theirs) == probe_role::none;
}

bool same_nat_apart(const connection_info& ours, const connection_info& theirs) {
  auto ext = [](const connection_info& x) -> std::string {
    for (auto& ep : x.external)
      if (ep.proto == protocol::udp)
        return ep.address;
    return {};
  };
  auto subnet = [](const std::string& a) { return a.substr(0, a.rfind('.')); };
  if (ext(ours).empty() || ext(ours) != ext(theirs))
    return false;
  for (auto& a : ours.local)
    for (auto& b : theirs.local)
      if (!is_ipv6_address(a.address) && subnet(a.address) == subnet(b.address))
        return false; // one LAN (a /24 in common): its own addresses are the way
  return true;
}

bool relay_at_once(const connection_info& ours, const connection_info& theirs) {
  if (punching_hopeless(ours, theirs) || lockstep(ours, theirs))
    return true; // lock-step needs an exact prediction: likely enough to try, not to wait for
  if (birthday_role(ours, theirs) == probe_role::none)
    return false;
  auto& hard = dependent(ours) ? ours : theirs;
  return guess_allocation(hard) != port_allocation::sequential;
}

punch_plan plan_traversal(const connection_info& ours, const connection_info& theirs) {
  punch_plan out;
  bool public_peer = theirs.nat == nat_class::none;
  auto add_dial = [&](const endpoint& ep, path_kind path) {
    for (auto& d : out.dials)
      if (d.remote == ep)
        return;
    out.dials.push_back({ep, path});
  };
  // A public peer is reached directly: its TCP endpoints, as any dial
  // (reliable UDP joins those dials if TCP is slow).
  if (public_peer) {
    for (auto& ep : theirs.local)
      if (ep.proto == protocol::tcp)
        add_dial(ep, path_kind::direct);
    if (!out.dials.empty())
      return out;
  }
  // A TCP endpoint among their external ones is a port their gateway
  // forwards (UPnP / NAT-PMP): dialled like a public peer's, and alone
  // (reliable UDP joins the dial on the same port if TCP is slow).
  auto guess = tcp_mapping_guess(theirs);
  for (auto& ep : theirs.external)
    if (ep.proto == protocol::tcp && ep != guess)
      add_dial(ep, path_kind::upnp);
  if (!out.dials.empty())
    return out;
  if (dependent(theirs)) {
    // Their NAT maps per destination: their external endpoints are what
    // STUN servers saw, not where we reach them. They dial our mapping;
    // punching their address opens our NAT to it (enough when it filters
    // by address only), and a sequential allocator's next ports are likely
    // theirs towards us (enough when it filters by port too).
    auto seen = dependent_mappings(theirs);
    auto ours_seen = dependent_mappings(ours);
    if (lockstep(ours, theirs) && ours_seen.front().address != seen.front().address) {
      // Both sequential, behind different NATs: our next mapping goes to
      // their next one, and nothing may take it first — no other candidate
      // (the punch, then the dial reusing its mapping).
      endpoint next{protocol::udp, seen.front().address, predicted_ports(theirs, 1).front()};
      out.punch.push_back(next);
      out.dials.push_back({next, path_kind::punched_udp});
      return out;
    }
    if (ours.nat != nat_class::none && !dependent(ours) && !seen.empty()) {
      for (auto& ep : seen)
        add_unique(out.punch, ep);
      for (auto port : predicted_ports(theirs, predicted_window))
        add_unique(out.punch, endpoint{protocol::udp, seen.front().address, port});
    }
  } else {
    for (auto& ep : theirs.external) {
      if (ep.proto != protocol::udp)
        continue;
      add_unique(out.punch, ep);
      add_dial(ep, public_peer ? path_kind::direct : path_kind::punched_udp);
    }
  }
  // TCP simultaneous open, beside the UDP punch: towards the port their
  // NAT will give their listening port, when it keeps ports.
  if (!public_peer && ours.nat != nat_class::none)
    if (auto ep = predicted_tcp_mapping(theirs); ep && !tcp_punch_hopeless(ours))
      add_dial(*ep, path_kind::punched_tcp);
  // Their own addresses: the way in when both sit behind the same NAT (or
  // the peer is public), and over IPv6 without a NAT in between (each
  // side's punch opens its own stateful firewall).
  for (auto& ep : theirs.local) {
    if (ep.proto != protocol::udp)
      continue;
    add_unique(out.punch, ep);
    add_dial(ep, path_kind::direct);
  }
  auto v6 = [](const connection_info& x) {
    return std::any_of(x.local.begin(), x.local.end(), [](const endpoint& ep) {
      return ep.proto == protocol::udp && is_global_ipv6(ep.address);
    });
  };
  if (v6(ours) && v6(theirs)) {
    // Happy eyeballs: their global IPv6 addresses first, the rest later.
    auto is_v6 = [](const punch_plan::dial& d) { return is_global_ipv6(d.remote.address); };
    std::vector<punch_plan::dial> first;
    for (auto& d : out.dials)
      (is_v6(d) ? first : out.later).push_back(d);
    out.dials = std::move(first);
  }
  return out;
}

} // namespace crust
