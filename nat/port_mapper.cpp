#include "nat/port_mapper.hpp"

#include "nat/natpmp_mapping.hpp"

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

#include <cstring>

namespace crust {

struct port_mapper_state::gateway {
  UPNPUrls urls{};
  IGDdatas data{};
  std::string lan;
  bool connected = false; ///< miniupnpc said 1 (connected), not 2
  ~gateway() { FreeUPNPUrls(&urls); }
};

namespace {

const char* proto_name(protocol p) {
  return p == protocol::tcp ? "TCP" : "UDP";
}

/// Finds the gateway (once).
bool discover(port_mapper_state& st, const mapping_request& req, mapping_result& out) {
  if (st.igd)
    return true;
  int err = 0;
  auto* devs = upnpDiscover(static_cast<int>(req.discover_ms), nullptr, nullptr,
                            UPNP_LOCAL_PORT_ANY, 0, 2, &err);
  if (devs == nullptr) {
    out.error = "no UPnP device answered within " + std::to_string(req.discover_ms) + " ms";
    return false;
  }
  auto g = std::make_shared<port_mapper_state::gateway>();
  char lan[64] = {};
  int r = UPNP_GetValidIGD(devs, &g->urls, &g->data, lan, sizeof(lan));
  freeUPNPDevlist(devs);
  if (r != 1 && r != 2) {
    out.error = r == 0 ? "no Internet gateway device found" : "a UPnP device, but not a gateway";
    return false; // g's destructor frees what was set
  }
  // 2: "not connected" — miniupnpc says so for a gateway whose external
  // address is reserved (documentation ranges, CGNAT). Still usable; the
  // result says which it was.
  g->lan = lan;
  g->connected = r == 1;
  st.igd = std::move(g);
  return true;
}

void map_upnp(port_mapper_state& st, const mapping_request& req, mapping_result& out) {
  auto& g = *st.igd;
  out.found = true;
  out.connected = g.connected;
  out.lan_address = g.lan;
  char ext[40] = {};
  if (UPNP_GetExternalIPAddress(g.urls.controlURL, g.data.first.servicetype, ext)
        == UPNPCOMMAND_SUCCESS)
    out.external_address = ext;
  if (out.external_address.empty()) {
    out.error = "the gateway did not tell its external address";
    return;
  }
  auto lease = std::to_string(req.lease_seconds);
  st.mapped.clear();
  for (auto& ep : req.ports) {
    auto port = std::to_string(ep.port);
    int r = UPNP_AddPortMapping(g.urls.controlURL, g.data.first.servicetype, port.c_str(),
                                port.c_str(), g.lan.c_str(), "crust", proto_name(ep.proto),
                                nullptr, lease.c_str());
    if (r == UPNPCOMMAND_SUCCESS) {
      endpoint m{ep.proto, out.external_address, ep.port};
      out.mapped.push_back(m);
      st.mapped.push_back(m);
    } else {
      if (!out.error.empty())
        out.error += "; ";
      out.error += std::string(proto_name(ep.proto)) + " " + port + ": " + strupnperror(r);
    }
  }
  if (!out.mapped.empty())
    out.method = "UPnP";
}

} // namespace

port_mapper_actor::behavior_type
port_mapper(port_mapper_actor::stateful_pointer<port_mapper_state> self, logger_ptr log) {
  self->state.log = std::move(log);
  return {
    [self](port_map_atom, mapping_request& req) {
      auto& st = self->state;
      mapping_result out;
      if (!st.natpmp && discover(st, req, out)) {
        map_upnp(st, req, out);
        return out;
      }
      // No UPnP gateway: ask with NAT-PMP (RFC 6886) instead.
      auto upnp_error = out.error;
      auto pmp = natpmp_map(req.ports, req.lease_seconds, req.discover_ms);
      if (!pmp.found) {
        out.error = upnp_error + "; NAT-PMP: " + pmp.error;
        return out;
      }
      st.natpmp = true;
      st.mapped = req.ports; // NAT-PMP deletes by private port
      CRUST_LOG(st.log, debug, nullptr, "port_mapper", "no UPnP gateway (" << upnp_error
                                                         << "): mapped with NAT-PMP");
      out = std::move(pmp);
      return out;
    },
    [self](port_unmap_atom) {
      auto& st = self->state;
      if (st.natpmp)
        natpmp_unmap(st.mapped, 1000);
      else if (st.igd)
        for (auto& m : st.mapped) {
          auto port = std::to_string(m.port);
          UPNP_DeletePortMapping(st.igd->urls.controlURL, st.igd->data.first.servicetype,
                                 port.c_str(), proto_name(m.proto), nullptr);
        }
      st.mapped.clear();
      self->quit();
    },
  };
}

} // namespace crust
