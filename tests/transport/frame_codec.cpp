// The frame decoder (length-prefixed frames on a stream) and the items inside
// decrypted frames: every bad input yields its precise error.
#define CAF_SUITE transport.frame_codec
#include <caf/test/unit_test.hpp>

#include "transport/frame_decoder.hpp"
#include "transport/frame_item.hpp"

using namespace crust;

namespace {

bytes frame(size_t len, uint8_t fill) {
  bytes out(frame_header_size + len, fill);
  write_frame_header(out.data(), len);
  return out;
}

} // namespace

CAF_TEST(frames split across reads come out whole) {
  frame_decoder dec;
  auto a = frame(300, 0xaa);
  auto b = frame(5, 0xbb);
  bytes stream = a;
  stream.insert(stream.end(), b.begin(), b.end());
  uint8_t* body = nullptr;
  size_t len = 0;
  // Feed one byte at a time: nothing comes out until a frame is complete.
  size_t frames = 0;
  for (auto byte : stream) {
    dec.append(&byte, 1);
    while (dec.next(body, len) == frame_decoder::status::frame) {
      ++frames;
      CAF_CHECK(len == 300 || len == 5);
      CAF_CHECK_EQUAL(body[0], len == 300 ? 0xaa : 0xbb);
    }
  }
  CAF_CHECK_EQUAL(frames, 2u);
  CAF_CHECK_EQUAL(dec.buffered(), 0u);
}

CAF_TEST(adopted and copied reads give the same frames whatever the split) {
  // Frames of assorted sizes, the stream cut at pseudo-random points, each
  // read adopted or copied, and the frames taken out now and then rather
  // than after every read.
  std::vector<bytes> sent;
  bytes stream;
  uint32_t seed = 12345;
  auto rnd = [&](uint32_t mod) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % mod;
  };
  for (int i = 0; i < 200; ++i) {
    size_t len = 1 + rnd(i % 7 == 0 ? 65535 : 300);
    bytes body(len);
    for (auto& b : body)
      b = static_cast<uint8_t>(rnd(256));
    sent.push_back(body);
    uint8_t header[2];
    write_frame_header(header, len);
    stream.insert(stream.end(), header, header + 2);
    stream.insert(stream.end(), body.begin(), body.end());
  }
  for (int run = 0; run < 20; ++run) {
    frame_decoder dec;
    std::vector<bytes> got;
    auto take = [&] {
      uint8_t* body = nullptr;
      size_t len = 0;
      frame_decoder::status st;
      while ((st = dec.next(body, len)) == frame_decoder::status::frame)
        got.emplace_back(body, body + len);
      CAF_REQUIRE(st == frame_decoder::status::need_more);
    };
    size_t pos = 0;
    while (pos < stream.size()) {
      size_t n = std::min<size_t>(stream.size() - pos, 1 + rnd(run < 10 ? 200000 : 700));
      if (rnd(3) == 0)
        dec.append(stream.data() + pos, n);
      else
        dec.append(bytes(stream.begin() + pos, stream.begin() + pos + n));
      pos += n;
      if (rnd(4) != 0)
        take();
    }
    take();
    CAF_REQUIRE_EQUAL(got.size(), sent.size());
    CAF_CHECK(got == sent);
    CAF_CHECK_EQUAL(dec.buffered(), 0u);
  }
}

CAF_TEST(an oversized length in an adopted read is refused) {
  frame_decoder dec(1024, 1);
  auto ok = frame(10, 1);
  bytes bad(2 + 2000, 0);
  write_frame_header(bad.data(), 2000);
  // A frame split across two reads, the second adopted, then a bad one.
  dec.append(ok.data(), 5);
  bytes rest(ok.begin() + 5, ok.end());
  rest.insert(rest.end(), bad.begin(), bad.end());
  dec.append(std::move(rest));
  uint8_t* body = nullptr;
  size_t len = 0;
  CAF_REQUIRE(dec.next(body, len) == frame_decoder::status::frame);
  CAF_CHECK_EQUAL(len, 10u);
  CAF_CHECK(dec.next(body, len) == frame_decoder::status::error);
  CAF_CHECK_EQUAL(dec.last_error(), ec::frame_too_large);
}

CAF_TEST(an oversized length is refused before anything is buffered) {
  frame_decoder dec(1024, 1);
  uint8_t header[2];
  write_frame_header(header, 1025);
  dec.append(header, 2);
  uint8_t* body = nullptr;
  size_t len = 0;
  CAF_CHECK(dec.next(body, len) == frame_decoder::status::error);
  CAF_CHECK_EQUAL(dec.last_error(), ec::frame_too_large);
  // The decoder stays failed and ignores further input.
  dec.append(header, 2);
  CAF_CHECK(dec.next(body, len) == frame_decoder::status::error);
}

CAF_TEST(a frame below the minimum size is malformed) {
  frame_decoder dec(65535, 16);
  auto f = frame(3, 0);
  dec.append(f.data(), f.size());
  uint8_t* body = nullptr;
  size_t len = 0;
  CAF_CHECK(dec.next(body, len) == frame_decoder::status::error);
  CAF_CHECK_EQUAL(dec.last_error(), ec::malformed_frame);
}

CAF_TEST(a truncated frame waits for more) {
  frame_decoder dec;
  auto f = frame(100, 1);
  dec.append(f.data(), 50);
  uint8_t* body = nullptr;
  size_t len = 0;
  CAF_CHECK(dec.next(body, len) == frame_decoder::status::need_more);
  CAF_CHECK_EQUAL(dec.buffered(), 50u);
}

CAF_TEST(items parse and bad items are named) {
  uint8_t buf[64];
  write_item_header(buf, item_kind::data_last, 2, 3);
  buf[4] = 'a';
  buf[5] = 'b';
  buf[6] = 'c';
  const uint8_t* pos = buf;
  item_view item;
  CAF_REQUIRE_EQUAL(read_item(pos, buf + 7, item), ec::none);
  CAF_CHECK(item.kind == item_kind::data_last);
  CAF_CHECK_EQUAL(item.channel, 2);
  CAF_CHECK_EQUAL(item.len, 3u);
  CAF_CHECK_EQUAL(pos, buf + 7);
  // Length beyond the frame.
  pos = buf;
  CAF_CHECK_EQUAL(read_item(pos, buf + 6, item), ec::truncated_frame);
  // Header cut short.
  pos = buf;
  CAF_CHECK_EQUAL(read_item(pos, buf + 3, item), ec::truncated_frame);
  // Unknown kind.
  buf[0] = 0x7f;
  pos = buf;
  CAF_CHECK_EQUAL(read_item(pos, buf + 7, item), ec::unknown_frame_kind);
  // Channel out of range.
  write_item_header(buf, item_kind::data_more, 9, 0);
  pos = buf;
  CAF_CHECK_EQUAL(read_item(pos, buf + 4, item), ec::malformed_frame);
  // Control items have fixed sizes.
  write_item_header(buf, item_kind::ping, 0, 3);
  pos = buf;
  CAF_CHECK_EQUAL(read_item(pos, buf + 7, item), ec::malformed_frame);
  write_item_header(buf, item_kind::close, 0, 2);
  pos = buf;
  CAF_CHECK_EQUAL(read_item(pos, buf + 6, item), ec::malformed_frame);
}

CAF_TEST(an item header alone is checked as a whole item is) {
  // Reliable UDP parses items as their bytes arrive: the header is judged
  // before any of its body is there.
  uint8_t h[item_header_size];
  item_view item;
  write_item_header(h, item_kind::data_more, 3, 16384);
  CAF_REQUIRE_EQUAL(read_item_header(h, item), ec::none);
  CAF_CHECK(item.kind == item_kind::data_more);
  CAF_CHECK_EQUAL(item.channel, 3);
  CAF_CHECK_EQUAL(item.len, 16384u);
  CAF_CHECK(item.body == nullptr);
  h[0] = 0x7f;
  CAF_CHECK_EQUAL(read_item_header(h, item), ec::unknown_frame_kind);
  write_item_header(h, item_kind::data_last, priority_levels, 1);
  CAF_CHECK_EQUAL(read_item_header(h, item), ec::malformed_frame);
  write_item_header(h, item_kind::pong, 0, 9);
  CAF_CHECK_EQUAL(read_item_header(h, item), ec::malformed_frame);
  write_item_header(h, item_kind::service, 1, max_service_body + 1);
  CAF_CHECK_EQUAL(read_item_header(h, item), ec::malformed_frame);
  write_item_header(h, item_kind::close, 0, 1);
  CAF_CHECK_EQUAL(read_item_header(h, item), ec::none);
}
