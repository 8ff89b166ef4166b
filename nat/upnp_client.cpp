#include "nat/upnp_client.hpp"

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

#include <cstring>

namespace crust {

struct upnp_client_state::gateway {
  UPNPUrls urls{};
  IGDdatas data{};
  std::string lan;
  ~gateway() { FreeUPNPUrls(&urls); }
};

namespace {

const char* proto_name(protocol p) {
  return p == protocol::tcp ? "TCP" : "UDP";
}

/// Finds the gateway (once).
bool discover(upnp_client_state& st, const upnp_request& req, upnp_result& out) {
  if (st.igd)
    return true;
  int err = 0;
  auto* devs = upnpDiscover(static_cast<int>(req.discover_ms), nullptr, nullptr,
                            UPNP_LOCAL_PORT_ANY, 0, 2, &err);
  if (devs == nullptr) {
    out.error = "no UPnP device answered within " + std::to_string(req.discover_ms) + " ms";
    return false;
  }
  auto g = std::make_shared<upnp_client_state::gateway>();
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
  out.connected = r == 1;
  st.igd = std::move(g);
  return true;
}

} // namespace

upnp_client_actor::behavior_type
upnp_client(upnp_client_actor::stateful_pointer<upnp_client_state> self) {
  return {
    [self](upnp_map_atom, upnp_request& req) {
      auto& st = self->state;
      upnp_result out;
      if (!discover(st, req, out))
        return out;
      auto& g = *st.igd;
      out.found = true;
      out.lan_address = g.lan;
      char ext[40] = {};
      if (UPNP_GetExternalIPAddress(g.urls.controlURL, g.data.first.servicetype, ext)
            == UPNPCOMMAND_SUCCESS)
        out.external_address = ext;
      if (out.external_address.empty()) {
        out.error = "the gateway did not tell its external address";
        return out;
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
      return out;
    },
    [self](upnp_unmap_atom) {
      auto& st = self->state;
      if (st.igd)
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
