#include "transport/wire.hpp"

#include <algorithm>

#include <boost/asio/ip/address.hpp>

namespace crust::wire {

uint8_t reader::u8() {
  auto p = take(1);
  return p ? p[0] : 0;
}

uint16_t reader::u16() {
  auto p = take(2);
  return p ? static_cast<uint16_t>(p[0] << 8 | p[1]) : 0;
}

uint64_t reader::u64() {
  auto p = take(8);
  uint64_t x = 0;
  if (p)
    for (int i = 0; i < 8; ++i)
      x = x << 8 | p[i];
  return x;
}

const uint8_t* reader::take(size_t n) {
  if (!ok_ || left() < n) {
    ok_ = false;
    return nullptr;
  }
  auto p = pos_;
  pos_ += n;
  return p;
}

void put_u8(bytes& out, uint8_t x) {
  out.push_back(x);
}

void put_u16(bytes& out, uint16_t x) {
  out.push_back(static_cast<uint8_t>(x >> 8));
  out.push_back(static_cast<uint8_t>(x));
}

void put_u64(bytes& out, uint64_t x) {
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

void put_bytes(bytes& out, const uint8_t* data, size_t len) {
  out.insert(out.end(), data, data + len);
}

bool put_endpoint(bytes& out, const endpoint& ep) {
  boost::system::error_code err;
  auto addr = boost::asio::ip::make_address(ep.address, err);
  if (err)
    return false;
  put_u8(out, static_cast<uint8_t>(ep.proto));
  if (addr.is_v4()) {
    put_u8(out, 4);
    auto b = addr.to_v4().to_bytes();
    put_bytes(out, b.data(), b.size());
  } else {
    put_u8(out, 6);
    auto b = addr.to_v6().to_bytes();
    put_bytes(out, b.data(), b.size());
  }
  put_u16(out, ep.port);
  return true;
}

std::optional<endpoint> get_endpoint(reader& in) {
  auto proto = in.u8();
  auto family = in.u8();
  if (!in.ok() || proto > 1 || (family != 4 && family != 6))
    return std::nullopt;
  endpoint ep;
  ep.proto = static_cast<protocol>(proto);
  if (family == 4) {
    auto p = in.take(4);
    if (!p)
      return std::nullopt;
    boost::asio::ip::address_v4::bytes_type b;
    std::copy(p, p + 4, b.begin());
    ep.address = boost::asio::ip::address_v4(b).to_string();
  } else {
    auto p = in.take(16);
    if (!p)
      return std::nullopt;
    boost::asio::ip::address_v6::bytes_type b;
    std::copy(p, p + 16, b.begin());
    auto v6 = boost::asio::ip::address_v6(b);
    ep.address = v6.is_v4_mapped()
                   ? boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string()
                   : v6.to_string();
  }
  ep.port = in.u16();
  if (!in.ok())
    return std::nullopt;
  return ep;
}

bool dialable(const endpoint& ep) {
  if (ep.port == 0)
    return false;
  boost::system::error_code err;
  auto addr = boost::asio::ip::make_address(ep.address, err);
  if (err || addr.is_unspecified() || addr.is_multicast())
    return false;
  if (addr.is_v4() && addr.to_v4() == boost::asio::ip::address_v4::broadcast())
    return false;
  return true;
}

bool get_peer(reader& in, peer_id& out) {
  auto key = in.take(peer_id::size);
  if (key == nullptr)
    return false;
  std::copy(key, key + peer_id::size, out.key.begin());
  return true;
}

} // namespace crust::wire
