#pragma once

// STUN messages (RFC 8489 / 5389), sans-I/O: parse a datagram into a
// `stun::message`, build Binding requests, indications and responses, check
// MESSAGE-INTEGRITY (HMAC-SHA1, short-term credentials) and FINGERPRINT.
// Only what crust needs: the Binding method, the address attributes, the
// RFC 5780 NAT-behaviour attributes, SOFTWARE, USERNAME and ERROR-CODE.

#include "messages/bytes.hpp"
#include "messages/ec.hpp"
#include "messages/endpoint.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crust::stun {

constexpr uint32_t magic_cookie = 0x2112A442;
constexpr size_t header_size = 20;
/// Datagrams above this are not STUN for us (RFC 8489 §6.1: 548 bytes is
/// the conservative limit for a path; we accept up to a typical MTU).
constexpr size_t max_message_size = 1500;

constexpr uint16_t method_binding = 0x001;

enum class msg_class : uint8_t {
  request = 0,
  indication = 1,
  success_response = 2,
  error_response = 3,
};

std::string to_string(msg_class x);

namespace attr {
constexpr uint16_t mapped_address = 0x0001;
constexpr uint16_t change_request = 0x0003; // RFC 5780
constexpr uint16_t username = 0x0006;
constexpr uint16_t message_integrity = 0x0008;
constexpr uint16_t error_code = 0x0009;
constexpr uint16_t unknown_attributes = 0x000A;
constexpr uint16_t xor_mapped_address = 0x0020;
constexpr uint16_t software = 0x8022;
constexpr uint16_t fingerprint = 0x8028;
constexpr uint16_t response_origin = 0x802B; // RFC 5780
constexpr uint16_t other_address = 0x802C;   // RFC 5780
} // namespace attr

using transaction_id = std::array<uint8_t, 12>;

/// A fresh random transaction id (libsodium's CSPRNG).
transaction_id random_transaction_id();

struct message {
  msg_class cls = msg_class::request;
  uint16_t method = method_binding;
  transaction_id tid{};
  // Addresses come back as UDP endpoints.
  std::optional<endpoint> xor_mapped_address;
  std::optional<endpoint> mapped_address;
  std::optional<endpoint> other_address;
  std::optional<endpoint> response_origin;
  std::optional<std::string> software;
  std::optional<std::string> username;
  std::optional<uint16_t> error_code; ///< 300..699
  std::string error_reason;
  std::optional<uint32_t> change_request; ///< flags: 0x4 change IP, 0x2 change port
  /// Offset of the MESSAGE-INTEGRITY attribute's header, when present.
  std::optional<size_t> integrity_offset;
  bool has_fingerprint = false;
  /// Comprehension-required attributes (type < 0x8000) this parser does not
  /// know: a request carrying any must be answered with error 420.
  std::vector<uint16_t> unknown_required;

  /// The address the server saw: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS.
  std::optional<endpoint> mapped() const {
    return xor_mapped_address ? xor_mapped_address : mapped_address;
  }
};

/// Cheap test before parsing: the two top bits are zero, the length is a
/// multiple of four that fits, and the magic cookie is in place.
bool looks_like_stun(const uint8_t* data, size_t len);

/// Parses a whole datagram. Every length is checked against the input; a
/// FINGERPRINT, when present, must be last and must match (else
/// `ec::decrypt_failed`); after MESSAGE-INTEGRITY only FINGERPRINT may follow.
/// Errors: truncated_frame, malformed_frame, frame_too_large, decrypt_failed.
ec parse(const uint8_t* data, size_t len, message& out);

inline ec parse(const bytes& data, message& out) {
  return parse(data.data(), data.size(), out);
}

/// True if the message's MESSAGE-INTEGRITY is the HMAC-SHA1 of the datagram
/// under `key` (short-term credentials: the key is the password).
bool verify_integrity(const uint8_t* data, size_t len, const message& parsed,
                      std::string_view key);

/// What to put into a built message.
struct build_options {
  std::string software;               ///< empty: no SOFTWARE attribute
  std::optional<uint32_t> change_request;
  std::string username;               ///< empty: none
  std::string integrity_key;          ///< empty: no MESSAGE-INTEGRITY
  bool fingerprint = true;
};

/// A Binding request (or, with `cls = indication`, a Binding indication:
/// fire-and-forget, no answer expected).
bytes build_binding(msg_class cls, const transaction_id& tid, const build_options& opts = {});

/// A Binding success response telling the client where it was seen.
bytes build_binding_response(const transaction_id& tid, const endpoint& mapped,
                             const build_options& opts = {});

/// An error response (e.g. 400 Bad Request, 420 Unknown Attribute).
bytes build_error_response(const transaction_id& tid, uint16_t code, const std::string& reason,
                           const build_options& opts = {});

} // namespace crust::stun
