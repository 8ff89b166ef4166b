#include "nat/natpmp_mapping.hpp"

#include <arpa/inet.h>
#define ENABLE_STRNATPMPERR // the library has it; the header hides it behind this
#include <natpmp.h>
#include <sys/select.h>

#include <chrono>

namespace crust {

namespace {

using clock = std::chrono::steady_clock;

/// Waits for the answer to the request just sent, within `deadline`.
int await_response(natpmp_t& p, natpmpresp_t& resp, clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return NATPMP_ERR_NOGATEWAYSUPPORT; // no answer in time: as good as none
    timeval tv{};
    getnatpmprequesttimeout(&p, &tv);
    auto want = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    if (want > left)
      want = left;
    tv.tv_sec = static_cast<time_t>(want.count() / 1000000);
    tv.tv_usec = static_cast<suseconds_t>(want.count() % 1000000);
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(p.s, &fds);
    select(p.s + 1, &fds, nullptr, nullptr, &tv);
    int r = readnatpmpresponseorretry(&p, &resp);
    if (r != NATPMP_TRYAGAIN)
      return r;
  }
}

int proto_of(const endpoint& ep) {
  return ep.proto == protocol::tcp ? NATPMP_PROTOCOL_TCP : NATPMP_PROTOCOL_UDP;
}

} // namespace

mapping_result natpmp_map(const std::vector<endpoint>& ports, uint32_t lease,
                          uint32_t budget_ms) {
  mapping_result out;
  auto deadline = clock::now() + std::chrono::milliseconds(budget_ms);
  natpmp_t p{};
  if (int r = initnatpmp(&p, 0, 0); r < 0) {
    out.error = strnatpmperr(r);
    return out;
  }
  natpmpresp_t resp{};
  int r = sendpublicaddressrequest(&p);
  if (r >= 0)
    r = await_response(p, resp, deadline);
  if (r < 0) {
    out.error = std::string("no answer to the public address request (") + strnatpmperr(r) + ")";
    closenatpmp(&p);
    return out;
  }
  out.found = true;
  out.connected = true;
  char ext[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &resp.pnu.publicaddress.addr, ext, sizeof(ext));
  out.external_address = ext;
  for (auto& ep : ports) {
    r = sendnewportmappingrequest(&p, proto_of(ep), ep.port, ep.port, lease);
    if (r >= 0)
      r = await_response(p, resp, deadline);
    if (r < 0) {
      if (!out.error.empty())
        out.error += "; ";
      out.error += to_string(ep) + ": " + strnatpmperr(r);
      continue;
    }
    out.mapped.push_back(endpoint{ep.proto, out.external_address,
                                  resp.pnu.newportmapping.mappedpublicport});
  }
  if (!out.mapped.empty())
    out.method = "NAT-PMP";
  closenatpmp(&p);
  return out;
}

void natpmp_unmap(const std::vector<endpoint>& ports, uint32_t budget_ms) {
  auto deadline = clock::now() + std::chrono::milliseconds(budget_ms);
  natpmp_t p{};
  if (initnatpmp(&p, 0, 0) < 0)
    return;
  natpmpresp_t resp{};
  for (auto& ep : ports)
    if (sendnewportmappingrequest(&p, proto_of(ep), ep.port, 0, 0) >= 0)
      await_response(p, resp, deadline); // lifetime 0: delete
  closenatpmp(&p);
}

} // namespace crust
