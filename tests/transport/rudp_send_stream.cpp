// Reliable UDP's outgoing stream buffer: small items gathered, large payloads
// shared without a copy, any held range read back across chunks, and
// acknowledged chunks freed whole.
#define CAF_SUITE transport.rudp_send_stream
#include <caf/test/unit_test.hpp>

#include "transport/rudp/send_stream.hpp"

#include <random>

using namespace crust;
using crust::rudp::send_stream;

namespace {

bytes pattern(size_t n, uint8_t seed) {
  bytes b(n);
  for (size_t i = 0; i < n; ++i)
    b[i] = static_cast<uint8_t>(seed + i * 13);
  return b;
}

/// Appends the same bytes to the stream and to a flat reference copy.
struct both {
  send_stream s;
  bytes flat;

  void append(const bytes& b) {
    s.append(b.data(), b.size());
    flat.insert(flat.end(), b.begin(), b.end());
  }

  void append_shared(const bytes& prefix, std::shared_ptr<const bytes> p, size_t from,
                     size_t len) {
    s.append_shared(prefix.data(), prefix.size(), p, from, len);
    flat.insert(flat.end(), prefix.begin(), prefix.end());
    flat.insert(flat.end(), p->begin() + static_cast<ptrdiff_t>(from),
                p->begin() + static_cast<ptrdiff_t>(from + len));
  }
};

} // namespace

CAF_TEST(small appends are gathered into few chunks) {
  send_stream s;
  auto b = pattern(68, 1);
  for (int i = 0; i < 1000; ++i)
    s.append(b.data(), b.size());
  CAF_CHECK_EQUAL(s.end(), 68000u);
  CAF_CHECK_EQUAL(s.begin(), 0u);
  // 68,000 bytes in chunks of at most 16 KiB: five of them, not a thousand.
  CAF_CHECK_EQUAL(s.chunks(), 5u);
  bytes out;
  CAF_REQUIRE(s.copy(68 * 500 + 3, 68, out));
  CAF_CHECK(std::equal(out.begin(), out.end() - 3, b.begin() + 3));
}

CAF_TEST(a shared payload is read back in place and held until released) {
  auto payload = std::make_shared<const bytes>(pattern(40000, 7));
  const uint8_t* where = payload->data();
  both x;
  bytes header = {0x01, 0x00, 0x40, 0x00};
  x.append_shared(header, payload, 0, 16384);
  x.append_shared(header, payload, 16384, 16384);
  bytes last = {0x02, 0x00, 0x1d, 0x40};
  x.append_shared(last, payload, 32768, 40000 - 32768);
  CAF_CHECK_EQUAL(payload.use_count(), 4); // ours and three chunks': no copy made
  CAF_CHECK(payload->data() == where);
  bytes out;
  CAF_REQUIRE(x.s.copy(0, x.flat.size(), out));
  CAF_CHECK(out == x.flat);
  // Acknowledging the first item frees its chunk only.
  x.s.release(4 + 16384);
  CAF_CHECK_EQUAL(x.s.chunks(), 2u);
  CAF_CHECK_EQUAL(x.s.begin(), 4u + 16384u);
  CAF_CHECK_EQUAL(payload.use_count(), 3);
  // A release inside a chunk keeps it whole.
  x.s.release(4 + 16384 + 100);
  CAF_CHECK_EQUAL(x.s.chunks(), 2u);
  x.s.release(x.s.end());
  CAF_CHECK_EQUAL(x.s.chunks(), 0u);
  CAF_CHECK_EQUAL(payload.use_count(), 1);
  CAF_CHECK_EQUAL(x.s.begin(), x.s.end());
}

CAF_TEST(any held range reads back as the bytes appended) {
  std::mt19937_64 rng(42);
  both x;
  uint8_t seed = 0;
  for (int i = 0; i < 300; ++i) {
    auto n = static_cast<size_t>(rng() % 3 == 0 ? rng() % 20000 : rng() % 200);
    if (n >= 4096) {
      auto p = std::make_shared<const bytes>(pattern(n, ++seed));
      auto half = n / 2;
      x.append_shared(pattern(4, ++seed), p, 0, half);
      x.append_shared(pattern(4, ++seed), p, half, n - half);
    } else {
      x.append(pattern(n, ++seed));
    }
  }
  CAF_REQUIRE_EQUAL(x.s.end(), x.flat.size());
  uint64_t released = 0;
  for (int i = 0; i < 2000; ++i) {
    auto from = x.s.begin() + rng() % (x.s.end() - x.s.begin() + 1);
    auto len = static_cast<size_t>(rng() % (x.s.end() - from + 1));
    bytes out{0xee}; // appended to, not replaced
    CAF_REQUIRE(x.s.copy(from, len, out));
    CAF_REQUIRE_EQUAL(out.size(), len + 1);
    CAF_REQUIRE(std::equal(out.begin() + 1, out.end(),
                           x.flat.begin() + static_cast<ptrdiff_t>(from)));
    if (i % 100 == 99) {
      released += rng() % 20000;
      x.s.release(released);
      CAF_CHECK_LESS_OR_EQUAL(x.s.begin(), std::max<uint64_t>(released, 0));
    }
  }
}

CAF_TEST(ranges not held are refused) {
  both x;
  x.append(pattern(30000, 3));
  x.s.release(20000); // frees the first 16 KiB chunk
  bytes out;
  CAF_CHECK(!x.s.copy(x.s.begin() - 1, 10, out));
  CAF_CHECK(!x.s.copy(x.s.end() - 5, 10, out));
  CAF_CHECK(!x.s.copy(x.s.end() + 1, 0, out));
  CAF_CHECK(out.empty());
  CAF_CHECK(x.s.copy(x.s.end(), 0, out));
  CAF_CHECK(x.s.copy(x.s.begin(), 10, out));
  CAF_CHECK(std::equal(out.begin(), out.end(),
                       x.flat.begin() + static_cast<ptrdiff_t>(x.s.begin())));
}
