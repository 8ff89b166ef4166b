#include "discovery/peer_record_codec.hpp"

#include "transport/local_interfaces.hpp"

#include <algorithm>

namespace crust {

namespace {

constexpr char domain[] = "crust-peer-record-v1";

bytes signed_part(const std::string& network, const uint8_t* body, size_t len) {
  bytes msg(domain, domain + sizeof(domain) - 1);
  msg.push_back(static_cast<uint8_t>(network.size()));
  msg.insert(msg.end(), network.begin(), network.end());
  msg.insert(msg.end(), body, body + len);
  return msg;
}

void encode_body(bytes& out, const peer_record& x) {
  wire::put_u8(out, peer_record_version);
  wire::put_peer(out, x.peer);
  wire::put_u64(out, x.seq);
  wire::put_u64(out, x.expires);
  auto count_at = out.size();
  wire::put_u8(out, 0);
  uint8_t n = 0;
  for (auto& ep : x.endpoints)
    if (n < max_record_endpoints && wire::put_endpoint(out, ep))
      ++n;
  out[count_at] = n;
}

} // namespace

peer_record make_peer_record(const identity& self, const std::string& network,
                             std::vector<endpoint> endpoints, uint64_t seq, uint64_t expires) {
  peer_record x;
  x.peer = self.id();
  if (endpoints.size() > max_record_endpoints)
    endpoints.resize(max_record_endpoints);
  x.endpoints = std::move(endpoints);
  x.seq = seq;
  x.expires = expires;
  bytes body;
  encode_body(body, x);
  auto msg = signed_part(network, body.data(), body.size());
  auto sig = self.sign(msg.data(), msg.size());
  x.signature.assign(sig.begin(), sig.end());
  return x;
}

uint64_t unix_seconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

uint64_t unix_millis() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

std::optional<peer_record> own_record(const identity& self, const std::string& network,
                                      const std::vector<endpoint>& listening,
                                      std::chrono::seconds lifetime) {
  if (listening.empty())
    return std::nullopt;
  return make_peer_record(self, network, reachable_endpoints(listening), unix_millis(),
                          unix_seconds() + static_cast<uint64_t>(lifetime.count()));
}

void refresh_own_record(std::optional<peer_record>& record, const identity& self,
                        const std::string& network, std::chrono::seconds lifetime) {
  auto now = unix_seconds();
  if (record && record->expires < now + static_cast<uint64_t>(lifetime.count()) / 2)
    record = make_peer_record(self, network, record->endpoints, unix_millis(),
                              now + static_cast<uint64_t>(lifetime.count()));
}

void encode_peer_record(bytes& out, const peer_record& x) {
  encode_body(out, x);
  bytes sig = x.signature;
  sig.resize(identity::signature_size);
  wire::put_bytes(out, sig.data(), sig.size());
}

ec decode_peer_record(wire::reader& in, const std::string& network, peer_record& out) {
  auto start = in.pos();
  if (in.u8() != peer_record_version || !in.ok())
    return ec::malformed_frame;
  peer_record x;
  if (!wire::get_peer(in, x.peer))
    return ec::malformed_frame;
  x.seq = in.u64();
  x.expires = in.u64();
  auto n = in.u8();
  if (!in.ok() || n == 0 || n > max_record_endpoints)
    return ec::malformed_frame;
  for (uint8_t i = 0; i < n; ++i) {
    auto ep = wire::get_endpoint(in);
    if (!ep)
      return ec::malformed_frame;
    x.endpoints.push_back(std::move(*ep));
  }
  auto body_len = static_cast<size_t>(in.pos() - start);
  auto sig = in.take(identity::signature_size);
  if (!sig)
    return ec::malformed_frame;
  identity::signature s;
  std::copy(sig, sig + s.size(), s.begin());
  auto msg = signed_part(network, start, body_len);
  if (!identity::verify(x.peer, msg.data(), msg.size(), s))
    return ec::bad_record;
  for (auto& ep : x.endpoints)
    if (!wire::dialable(ep))
      return ec::bad_record;
  x.signature.assign(s.begin(), s.end());
  out = std::move(x);
  return ec::none;
}

} // namespace crust
