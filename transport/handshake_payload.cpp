#include "transport/handshake_payload.hpp"

#include <boost/asio/ip/address.hpp>

#include <cstring>

namespace crust {

namespace {

constexpr char binding_label[] = "crust-noise-static-key-v1";
constexpr uint8_t tag_listen_port = 1;
constexpr uint8_t tag_observed = 2;
constexpr uint8_t tag_features = 3;

void put_extension(bytes& out, uint8_t tag, const bytes& value) {
  out.push_back(tag);
  out.push_back(static_cast<uint8_t>(value.size() >> 8));
  out.push_back(static_cast<uint8_t>(value.size() & 0xff));
  out.insert(out.end(), value.begin(), value.end());
}

/// The observed-address extension's value, or nothing for a non-numeric one.
std::optional<bytes> encode_observed(const endpoint& ep) {
  boost::system::error_code err;
  auto addr = boost::asio::ip::make_address(ep.address, err);
  if (err)
    return std::nullopt;
  bytes out;
  if (addr.is_v4()) {
    out.push_back(4);
    auto b = addr.to_v4().to_bytes();
    out.insert(out.end(), b.begin(), b.end());
  } else {
    out.push_back(6);
    auto b = addr.to_v6().to_bytes();
    out.insert(out.end(), b.begin(), b.end());
  }
  out.push_back(static_cast<uint8_t>(ep.port >> 8));
  out.push_back(static_cast<uint8_t>(ep.port & 0xff));
  return out;
}

std::optional<endpoint> decode_observed(const uint8_t* p, size_t n) {
  if (n == 7 && p[0] == 4) {
    boost::asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), p + 1, 4);
    return endpoint{protocol::tcp, boost::asio::ip::address_v4(b).to_string(),
                    static_cast<uint16_t>(p[5] << 8 | p[6])};
  }
  if (n == 19 && p[0] == 6) {
    boost::asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), p + 1, 16);
    return endpoint{protocol::tcp, boost::asio::ip::address_v6(b).to_string(),
                    static_cast<uint16_t>(p[17] << 8 | p[18])};
  }
  return std::nullopt;
}
constexpr size_t fixed_size = 2 + peer_id::size + identity::signature_size;

} // namespace

bytes handshake_abort_frame(ec reason, uint32_t retry_after_ms) {
  auto body = retry_after_ms > 0 ? handshake_refusal_size : handshake_abort_size;
  bytes out{0, static_cast<uint8_t>(body), handshake_abort_marker, static_cast<uint8_t>(reason)};
  if (retry_after_ms > 0)
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<uint8_t>(retry_after_ms >> shift));
  return out;
}

bool read_handshake_abort(const uint8_t* body, size_t len, ec& reason, uint32_t& retry_after_ms) {
  if ((len != handshake_abort_size && len != handshake_refusal_size)
      || body[0] != handshake_abort_marker)
    return false;
  reason = static_cast<ec>(body[1]);
  retry_after_ms = 0;
  if (len == handshake_refusal_size)
    retry_after_ms = (uint32_t{body[2]} << 24) | (uint32_t{body[3]} << 16)
                     | (uint32_t{body[4]} << 8) | uint32_t{body[5]};
  return true;
}

bytes make_prologue(const std::string& network) {
  bytes out{'c', 'r', 'u', 's', 't', protocol_version};
  auto len = std::min<size_t>(network.size(), 255);
  out.push_back(static_cast<uint8_t>(len));
  out.insert(out.end(), network.begin(), network.begin() + static_cast<ptrdiff_t>(len));
  return out;
}

bytes static_key_binding(const noise::public_key& static_key) {
  bytes out(binding_label, binding_label + sizeof(binding_label) - 1);
  out.insert(out.end(), static_key.begin(), static_key.end());
  return out;
}

handshake_payload make_payload(const identity& self, const noise::public_key& static_key,
                               node_role role, uint16_t listen_port,
                               std::optional<endpoint> observed, uint32_t features) {
  auto msg = static_key_binding(static_key);
  return make_payload(self.id(), self.sign(msg.data(), msg.size()), role, listen_port,
                      std::move(observed), features);
}

handshake_payload make_payload(const peer_id& self, const identity::signature& binding_signature,
                               node_role role, uint16_t listen_port,
                               std::optional<endpoint> observed, uint32_t features) {
  handshake_payload x;
  x.role = role;
  x.identity_key = self;
  x.signature = binding_signature;
  x.listen_port = listen_port;
  x.observed = std::move(observed);
  x.features = features;
  return x;
}

bytes encode_payload(const handshake_payload& x) {
  bytes out;
  out.reserve(fixed_size + 5);
  out.push_back(protocol_version);
  out.push_back(static_cast<uint8_t>(x.role));
  out.insert(out.end(), x.identity_key.key.begin(), x.identity_key.key.end());
  out.insert(out.end(), x.signature.begin(), x.signature.end());
  if (x.listen_port != 0)
    put_extension(out, tag_listen_port,
                  {static_cast<uint8_t>(x.listen_port >> 8),
                   static_cast<uint8_t>(x.listen_port & 0xff)});
  if (x.observed)
    if (auto value = encode_observed(*x.observed))
      put_extension(out, tag_observed, *value);
  if (x.features != 0)
    put_extension(out, tag_features,
                  {static_cast<uint8_t>(x.features >> 24), static_cast<uint8_t>(x.features >> 16),
                   static_cast<uint8_t>(x.features >> 8), static_cast<uint8_t>(x.features)});
  return out;
}

ec decode_and_verify_payload(const uint8_t* data, size_t len,
                             const noise::public_key& remote_static,
                             handshake_payload& out) {
  if (len < fixed_size)
    return ec::bad_identity;
  if (data[0] != protocol_version)
    return ec::protocol_version_mismatch;
  if (data[1] > static_cast<uint8_t>(node_role::client))
    return ec::bad_identity;
  handshake_payload x;
  x.role = static_cast<node_role>(data[1]);
  std::memcpy(x.identity_key.key.data(), data + 2, peer_id::size);
  std::memcpy(x.signature.data(), data + 2 + peer_id::size, identity::signature_size);
  const uint8_t* pos = data + fixed_size;
  const uint8_t* end = data + len;
  while (pos != end) {
    if (end - pos < 3)
      return ec::bad_identity;
    auto tag = pos[0];
    size_t n = static_cast<size_t>(pos[1]) << 8 | pos[2];
    pos += 3;
    if (static_cast<size_t>(end - pos) < n)
      return ec::bad_identity;
    if (tag == tag_listen_port) {
      if (n != 2)
        return ec::bad_identity;
      x.listen_port = static_cast<uint16_t>(pos[0] << 8 | pos[1]);
    } else if (tag == tag_observed) {
      x.observed = decode_observed(pos, n);
      if (!x.observed)
        return ec::bad_identity;
    } else if (tag == tag_features) {
      if (n != 4)
        return ec::bad_identity;
      x.features = static_cast<uint32_t>(pos[0]) << 24 | static_cast<uint32_t>(pos[1]) << 16
                   | static_cast<uint32_t>(pos[2]) << 8 | pos[3];
    }
    pos += n;
  }
  auto msg = static_key_binding(remote_static);
  if (!identity::verify(x.identity_key, msg.data(), msg.size(), x.signature))
    return ec::bad_identity;
  out = x;
  return ec::none;
}

} // namespace crust
