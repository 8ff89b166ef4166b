#include "nat/stun_message.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <zlib.h>

#include <cstring>

namespace crust::stun {

namespace {

constexpr uint32_t fingerprint_xor = 0x5354554e;
constexpr size_t integrity_size = 20; // HMAC-SHA1

uint16_t load16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

uint32_t load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

void put16(bytes& out, uint16_t x) {
  out.push_back(static_cast<uint8_t>(x >> 8));
  out.push_back(static_cast<uint8_t>(x));
}

void put32(bytes& out, uint32_t x) {
  put16(out, static_cast<uint16_t>(x >> 16));
  put16(out, static_cast<uint16_t>(x));
}

void set16(bytes& out, size_t at, uint16_t x) {
  out[at] = static_cast<uint8_t>(x >> 8);
  out[at + 1] = static_cast<uint8_t>(x);
}

/// Message type bits: M11..M0 interleaved with C1 C0 (RFC 8489 §5).
uint16_t type_of(msg_class cls, uint16_t method) {
  auto c = static_cast<uint16_t>(cls);
  return static_cast<uint16_t>((method & 0x000F) | ((method & 0x0070) << 1)
                               | ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
}

void split_type(uint16_t t, msg_class& cls, uint16_t& method) {
  method = static_cast<uint16_t>((t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2));
  cls = static_cast<msg_class>(((t >> 4) & 1) | ((t >> 7) & 2));
}

/// Decodes a (XOR-)MAPPED-ADDRESS style value.
bool read_address(const uint8_t* v, size_t len, bool xored, const transaction_id& tid,
                  endpoint& out) {
  if (len < 4)
    return false;
  auto family = v[1];
  uint16_t port = load16(v + 2);
  uint8_t addr[16];
  size_t alen = family == 0x01 ? 4 : family == 0x02 ? 16 : 0;
  if (alen == 0 || len != 4 + alen)
    return false;
  std::memcpy(addr, v + 4, alen);
  if (xored) {
    port ^= static_cast<uint16_t>(magic_cookie >> 16);
    uint8_t mask[16] = {0x21, 0x12, 0xA4, 0x42};
    std::memcpy(mask + 4, tid.data(), tid.size());
    for (size_t i = 0; i < alen; ++i)
      addr[i] ^= mask[i];
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(alen == 4 ? AF_INET : AF_INET6, addr, text, sizeof(text)))
    return false;
  out = endpoint{protocol::udp, text, port};
  return true;
}

bool write_address(bytes& out, uint16_t type, const endpoint& ep, bool xored,
                   const transaction_id& tid) {
  uint8_t addr[16];
  size_t alen = 0;
  if (inet_pton(AF_INET, ep.address.c_str(), addr) == 1)
    alen = 4;
  else if (inet_pton(AF_INET6, ep.address.c_str(), addr) == 1)
    alen = 16;
  else
    return false;
  uint16_t port = ep.port;
  if (xored) {
    port ^= static_cast<uint16_t>(magic_cookie >> 16);
    uint8_t mask[16] = {0x21, 0x12, 0xA4, 0x42};
    std::memcpy(mask + 4, tid.data(), tid.size());
    for (size_t i = 0; i < alen; ++i)
      addr[i] ^= mask[i];
  }
  put16(out, type);
  put16(out, static_cast<uint16_t>(4 + alen));
  out.push_back(0);
  out.push_back(alen == 4 ? 0x01 : 0x02);
  put16(out, port);
  out.insert(out.end(), addr, addr + alen);
  return true;
}

void put_attribute(bytes& out, uint16_t type, const uint8_t* value, size_t len) {
  put16(out, type);
  put16(out, static_cast<uint16_t>(len));
  out.insert(out.end(), value, value + len);
  while (out.size() % 4 != 0)
    out.push_back(0);
}

void put_text(bytes& out, uint16_t type, const std::string& text) {
  put_attribute(out, type, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

uint32_t crc_of(const uint8_t* data, size_t len) {
  return static_cast<uint32_t>(::crc32(::crc32(0L, Z_NULL, 0), data, static_cast<uInt>(len)));
}

bool hmac_sha1(std::string_view key, const uint8_t* data, size_t len, uint8_t out[20]) {
  unsigned int n = 0;
  return HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), data, len, out, &n) != nullptr
         && n == integrity_size;
}

/// Appends USERNAME, MESSAGE-INTEGRITY and FINGERPRINT as asked, and sets
/// the header's length field as each requires.
void finish(bytes& out, const build_options& opts) {
  if (!opts.integrity_key.empty()) {
    // The HMAC covers the message with a length that already counts the
    // MESSAGE-INTEGRITY attribute itself.
    set16(out, 2, static_cast<uint16_t>(out.size() - header_size + 4 + integrity_size));
    uint8_t mac[integrity_size];
    if (hmac_sha1(opts.integrity_key, out.data(), out.size(), mac))
      put_attribute(out, attr::message_integrity, mac, integrity_size);
  }
  if (opts.fingerprint) {
    set16(out, 2, static_cast<uint16_t>(out.size() - header_size + 8));
    uint8_t v[4];
    auto crc = crc_of(out.data(), out.size()) ^ fingerprint_xor;
    v[0] = static_cast<uint8_t>(crc >> 24);
    v[1] = static_cast<uint8_t>(crc >> 16);
    v[2] = static_cast<uint8_t>(crc >> 8);
    v[3] = static_cast<uint8_t>(crc);
    put_attribute(out, attr::fingerprint, v, 4);
  }
  set16(out, 2, static_cast<uint16_t>(out.size() - header_size));
}

bytes start(msg_class cls, const transaction_id& tid) {
  bytes out;
  out.reserve(128);
  put16(out, type_of(cls, method_binding));
  put16(out, 0);
  put32(out, magic_cookie);
  out.insert(out.end(), tid.begin(), tid.end());
  return out;
}

void put_common(bytes& out, const build_options& opts) {
  if (!opts.username.empty())
    put_text(out, attr::username, opts.username);
  if (!opts.software.empty())
    put_text(out, attr::software, opts.software);
}

} // namespace

std::string to_string(msg_class x) {
  switch (x) {
    case msg_class::request: return "request";
    case msg_class::indication: return "indication";
    case msg_class::success_response: return "success_response";
    case msg_class::error_response: return "error_response";
  }
  return "unknown";
}

transaction_id random_transaction_id() {
  transaction_id x;
  randombytes_buf(x.data(), x.size());
  return x;
}

bool looks_like_stun(const uint8_t* data, size_t len) {
  if (len < header_size || len > max_message_size || (data[0] & 0xC0) != 0)
    return false;
  auto body = load16(data + 2);
  return body % 4 == 0 && header_size + body == len && load32(data + 4) == magic_cookie;
}

ec parse(const uint8_t* data, size_t len, message& out) {
  out = message{};
  if (len < header_size)
    return ec::truncated_frame;
  if (len > max_message_size)
    return ec::frame_too_large;
  if ((data[0] & 0xC0) != 0 || load32(data + 4) != magic_cookie)
    return ec::malformed_frame;
  size_t body = load16(data + 2);
  if (body % 4 != 0)
    return ec::malformed_frame;
  if (header_size + body > len)
    return ec::truncated_frame;
  if (header_size + body < len)
    return ec::malformed_frame; // trailing bytes: not one STUN message
  split_type(load16(data), out.cls, out.method);
  std::memcpy(out.tid.data(), data + 8, out.tid.size());
  size_t pos = header_size;
  while (pos < len) {
    if (out.has_fingerprint)
      return ec::malformed_frame; // FINGERPRINT must be last
    if (len - pos < 4)
      return ec::truncated_frame;
    auto type = load16(data + pos);
    size_t vlen = load16(data + pos + 2);
    size_t padded = (vlen + 3) & ~size_t{3};
    if (len - pos - 4 < padded)
      return ec::truncated_frame;
    const uint8_t* v = data + pos + 4;
    if (out.integrity_offset && type != attr::fingerprint)
      return ec::malformed_frame; // only FINGERPRINT may follow MESSAGE-INTEGRITY
    switch (type) {
      case attr::xor_mapped_address:
      case attr::mapped_address:
      case attr::other_address:
      case attr::response_origin: {
        endpoint ep;
        if (!read_address(v, vlen, type == attr::xor_mapped_address, out.tid, ep))
          return ec::malformed_frame;
        (type == attr::xor_mapped_address ? out.xor_mapped_address
         : type == attr::mapped_address   ? out.mapped_address
         : type == attr::other_address    ? out.other_address
                                          : out.response_origin) = ep;
        break;
      }
      case attr::software:
      case attr::username: {
        if (vlen > 763) // RFC 8489: fewer than 128 characters, 763 bytes at most
          return ec::malformed_frame;
        std::string text(reinterpret_cast<const char*>(v), vlen);
        (type == attr::software ? out.software : out.username) = std::move(text);
        break;
      }
      case attr::error_code: {
        if (vlen < 4)
          return ec::malformed_frame;
        auto code = static_cast<uint16_t>((v[2] & 0x07) * 100 + v[3]);
        if (code < 300 || code > 699 || v[3] > 99)
          return ec::malformed_frame;
        out.error_code = code;
        out.error_reason.assign(reinterpret_cast<const char*>(v + 4), vlen - 4);
        break;
      }
      case attr::change_request:
        if (vlen != 4)
          return ec::malformed_frame;
        out.change_request = load32(v);
        break;
      case attr::message_integrity:
        if (vlen != integrity_size)
          return ec::malformed_frame;
        out.integrity_offset = pos;
        break;
      case attr::fingerprint: {
        if (vlen != 4)
          return ec::malformed_frame;
        if ((crc_of(data, pos) ^ fingerprint_xor) != load32(v))
          return ec::decrypt_failed;
        out.has_fingerprint = true;
        break;
      }
      case attr::unknown_attributes:
        break;
      default:
        if (type < 0x8000)
          out.unknown_required.push_back(type);
        break;
    }
    pos += 4 + padded;
  }
  return ec::none;
}

bool verify_integrity(const uint8_t* data, size_t len, const message& parsed,
                      std::string_view key) {
  if (!parsed.integrity_offset)
    return false;
  auto at = *parsed.integrity_offset;
  if (at + 4 + integrity_size > len)
    return false;
  // The HMAC input: everything before the attribute, with the header's
  // length counting up to the end of MESSAGE-INTEGRITY.
  bytes input(data, data + at);
  set16(input, 2, static_cast<uint16_t>(at - header_size + 4 + integrity_size));
  uint8_t mac[integrity_size];
  if (!hmac_sha1(key, input.data(), input.size(), mac))
    return false;
  return sodium_memcmp(mac, data + at + 4, integrity_size) == 0;
}

bytes build_binding(msg_class cls, const transaction_id& tid, const build_options& opts) {
  auto out = start(cls, tid);
  put_common(out, opts);
  if (opts.change_request) {
    uint8_t v[4] = {0, 0, 0, static_cast<uint8_t>(*opts.change_request)};
    put_attribute(out, attr::change_request, v, 4);
  }
  finish(out, opts);
  return out;
}

bytes build_binding_response(const transaction_id& tid, const endpoint& mapped,
                             const build_options& opts) {
  auto out = start(msg_class::success_response, tid);
  write_address(out, attr::xor_mapped_address, mapped, true, tid);
  put_common(out, opts);
  finish(out, opts);
  return out;
}

bytes build_error_response(const transaction_id& tid, uint16_t code, const std::string& reason,
                           const build_options& opts) {
  auto out = start(msg_class::error_response, tid);
  bytes v{0, 0, static_cast<uint8_t>(code / 100 & 0x07), static_cast<uint8_t>(code % 100)};
  v.insert(v.end(), reason.begin(), reason.end());
  put_attribute(out, attr::error_code, v.data(), v.size());
  put_common(out, opts);
  finish(out, opts);
  return out;
}

} // namespace crust::stun
