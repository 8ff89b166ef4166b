// STUN codec: the RFC 5769 vectors in ../shared/vectors (fields, MESSAGE-
// INTEGRITY, FINGERPRINT), round trips of what we build, and bad input.
#define CAF_SUITE nat.stun_message
#include <caf/test/unit_test.hpp>

#include "nat/stun_message.hpp"
#include "transport/hex.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

using namespace crust;
using json = nlohmann::json;

namespace {

json load_vectors() {
  std::string path = CRUST_SHARED_DIR "/vectors/stun-rfc5769.json";
  std::ifstream in(path);
  if (!in)
    CAF_FAIL("missing STUN test vectors: " << path);
  return json::parse(in);
}

/// The short-term password, as the vector file's "source" line gives it.
std::string password_of(const json& doc) {
  auto src = doc.at("source").get<std::string>();
  auto at = src.find("password for all three: ");
  if (at == std::string::npos)
    CAF_FAIL("the vector file names no password");
  return src.substr(at + std::string("password for all three: ").size());
}

bytes unhex(const std::string& s) {
  auto x = from_hex(s);
  if (!x)
    CAF_FAIL("bad hex");
  return *x;
}

std::string show(const endpoint& ep) {
  auto v6 = ep.address.find(':') != std::string::npos;
  return (v6 ? "[" + ep.address + "]" : ep.address) + ":" + std::to_string(ep.port);
}

} // namespace

CAF_TEST(rfc 5769 vectors parse to the expected fields and verify) {
  auto doc = load_vectors();
  auto password = password_of(doc);
  CAF_CHECK_EQUAL(password, "VOkJxbRl1RmTxUk/WvJxBt");
  auto& vectors = doc.at("vectors");
  CAF_REQUIRE_EQUAL(vectors.size(), 3u);
  for (auto& v : vectors) {
    CAF_MESSAGE(v.at("name").get<std::string>());
    auto data = unhex(v.at("hex").get<std::string>());
    auto& want = v.at("expect");
    CAF_CHECK(stun::looks_like_stun(data.data(), data.size()));
    stun::message m;
    CAF_REQUIRE_EQUAL(stun::parse(data, m), ec::none);
    CAF_CHECK_EQUAL(stun::to_string(m.cls), want.at("class").get<std::string>());
    CAF_CHECK_EQUAL(m.method, stun::method_binding);
    CAF_CHECK_EQUAL(to_hex(bytes(m.tid.begin(), m.tid.end())),
                    want.at("transaction_id").get<std::string>());
    if (want.contains("software")) {
      CAF_REQUIRE(m.software);
      CAF_CHECK_EQUAL(*m.software, want.at("software").get<std::string>());
    }
    if (want.contains("username")) {
      CAF_REQUIRE(m.username);
      CAF_CHECK_EQUAL(*m.username, want.at("username").get<std::string>());
    }
    if (want.contains("xor_mapped_address")) {
      CAF_REQUIRE(m.xor_mapped_address);
      CAF_CHECK_EQUAL(show(*m.xor_mapped_address), want.at("xor_mapped_address").get<std::string>());
    }
    CAF_CHECK_EQUAL(m.integrity_offset.has_value(), want.at("has_message_integrity").get<bool>());
    CAF_CHECK_EQUAL(m.has_fingerprint, want.at("has_fingerprint").get<bool>());
    CAF_CHECK(stun::verify_integrity(data.data(), data.size(), m, password));
    CAF_CHECK(!stun::verify_integrity(data.data(), data.size(), m, password + "x"));
    // One flipped bit anywhere before the fingerprint breaks it.
    for (size_t i = stun::header_size; i + 8 < data.size(); i += 7) {
      auto bad = data;
      bad[i] ^= 0x10;
      stun::message b;
      auto err = stun::parse(bad, b);
      CAF_CHECK(err != ec::none || !stun::verify_integrity(bad.data(), bad.size(), b, password));
    }
  }
}

CAF_TEST(what we build parses back with integrity and fingerprint) {
  auto tid = stun::random_transaction_id();
  stun::build_options opts;
  opts.software = "crust";
  opts.username = "a:b";
  opts.integrity_key = "secret";
  opts.change_request = 0x06;
  auto req = stun::build_binding(stun::msg_class::request, tid, opts);
  stun::message m;
  CAF_REQUIRE_EQUAL(stun::parse(req, m), ec::none);
  CAF_CHECK(m.cls == stun::msg_class::request);
  CAF_CHECK(m.tid == tid);
  CAF_CHECK_EQUAL(*m.software, "crust");
  CAF_CHECK_EQUAL(*m.username, "a:b");
  CAF_CHECK_EQUAL(*m.change_request, 0x06u);
  CAF_CHECK(m.has_fingerprint);
  CAF_CHECK(stun::verify_integrity(req.data(), req.size(), m, "secret"));
  for (auto mapped : {endpoint{protocol::udp, "203.0.113.7", 40001},
                      endpoint{protocol::udp, "2001:db8::1", 9}}) {
    auto resp = stun::build_binding_response(tid, mapped);
    stun::message r;
    CAF_REQUIRE_EQUAL(stun::parse(resp, r), ec::none);
    CAF_CHECK(r.cls == stun::msg_class::success_response);
    CAF_REQUIRE(r.mapped());
    CAF_CHECK_EQUAL(to_string(*r.mapped()), to_string(mapped));
  }
  auto err = stun::build_error_response(tid, 420, "Unknown Attribute");
  stun::message e;
  CAF_REQUIRE_EQUAL(stun::parse(err, e), ec::none);
  CAF_CHECK(e.cls == stun::msg_class::error_response);
  CAF_CHECK_EQUAL(*e.error_code, 420u);
  CAF_CHECK_EQUAL(e.error_reason, "Unknown Attribute");
  auto ind = stun::build_binding(stun::msg_class::indication, tid);
  CAF_REQUIRE_EQUAL(stun::parse(ind, m), ec::none);
  CAF_CHECK(m.cls == stun::msg_class::indication);
}

CAF_TEST(bad input gets a clear error) {
  auto tid = stun::random_transaction_id();
  auto good = stun::build_binding_response(tid, endpoint{protocol::udp, "198.51.100.9", 5});
  stun::message m;
  // Every truncation is refused, none reads past the end.
  for (size_t n = 0; n < good.size(); ++n) {
    bytes cut(good.begin(), good.begin() + static_cast<long>(n));
    CAF_CHECK(stun::parse(cut, m) != ec::none);
  }
  auto bad = good;
  bad[4] ^= 1; // magic cookie
  CAF_CHECK_EQUAL(stun::parse(bad, m), ec::malformed_frame);
  bad = good;
  bad[3] = static_cast<uint8_t>(bad[3] + 4); // a length beyond the datagram
  CAF_CHECK_EQUAL(stun::parse(bad, m), ec::truncated_frame);
  bad = good;
  bad[3] = static_cast<uint8_t>(bad[3] + 1); // not a multiple of four
  CAF_CHECK_EQUAL(stun::parse(bad, m), ec::malformed_frame);
  bad = good;
  bad.back() ^= 0xFF; // the fingerprint itself
  CAF_CHECK_EQUAL(stun::parse(bad, m), ec::decrypt_failed);
  bad = good;
  bad[stun::header_size + 3] = 0xFF; // attribute length far beyond the end
  CAF_CHECK_EQUAL(stun::parse(bad, m), ec::truncated_frame);
  bad = good;
  bad[stun::header_size + 5] = 0x07; // address family 7
  CAF_CHECK(stun::parse(bad, m) != ec::none);
  bytes big(stun::max_message_size + 4, 0);
  CAF_CHECK_EQUAL(stun::parse(big, m), ec::frame_too_large);
  // A comprehension-required attribute we do not know is reported.
  auto req = stun::build_binding(stun::msg_class::request, tid, {"", {}, "", "", false});
  req.insert(req.end(), {0x00, 0x2A, 0x00, 0x00}); // type 0x002A, empty
  req[3] = static_cast<uint8_t>(req[3] + 4);
  CAF_REQUIRE_EQUAL(stun::parse(req, m), ec::none);
  CAF_REQUIRE_EQUAL(m.unknown_required.size(), 1u);
  CAF_CHECK_EQUAL(m.unknown_required[0], 0x002Au);
  // Not STUN: a reliable-UDP packet's first byte has its top bits set.
  bytes rudp_like(40, 0xC0);
  CAF_CHECK(!stun::looks_like_stun(rudp_like.data(), rudp_like.size()));
}
