// The UDP socket adapter over real loopback sockets: batches sent with one
// sendmmsg (GSO runs where the kernel takes them) arrive whole and in order
// through recvmmsg; datagrams longer than the receiver takes are dropped
// without losing the ones after them.
#define CAF_SUITE transport.datagram_socket
#include <caf/test/unit_test.hpp>

#include "transport/datagram_socket.hpp"
#include "transport/io_runtime.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>

using namespace crust;
using udp = datagram_socket::udp;

namespace {

struct inbox {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<std::pair<bytes, udp::endpoint>> got;
  size_t handoffs = 0;

  bool wait_for(size_t n) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, std::chrono::seconds(5), [&] { return got.size() >= n; });
  }
};

bytes datagram(size_t size, uint32_t seq) {
  bytes out(size);
  for (size_t i = 0; i < size; ++i)
    out[i] = static_cast<uint8_t>(seq * 31 + i);
  if (size >= 4)
    for (int k = 0; k < 4; ++k)
      out[static_cast<size_t>(k)] = static_cast<uint8_t>(seq >> (8 * k));
  return out;
}

struct fixture {
  io_runtime io{1};
  std::shared_ptr<datagram_socket> rx;
  std::shared_ptr<datagram_socket> tx;
  std::shared_ptr<inbox> box = std::make_shared<inbox>();

  fixture() {
    datagram_socket::options opts;
    opts.buffer_bytes = 4 * 1024 * 1024;
    auto local = udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
    rx = datagram_socket::open(io.context(), local, opts);
    tx = datagram_socket::open(io.context(), local, opts);
    auto b = box;
    rx->start_batched([b](std::vector<std::pair<bytes, udp::endpoint>> batch) {
      std::lock_guard<std::mutex> guard{b->mtx};
      ++b->handoffs;
      for (auto& x : batch)
        b->got.push_back(std::move(x));
      b->cv.notify_all();
    });
  }

  ~fixture() {
    rx->close();
    tx->close();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(datagram_socket_tests, fixture)

CAF_TEST(a batch of mixed sizes arrives whole and in order) {
  // Runs of full datagrams (GSO), short ones between them, one of each size
  // alone; in rounds small enough for the receive buffer.
  std::vector<bytes> sent;
  uint32_t seq = 0;
  for (int round = 0; round < 8; ++round) {
    std::vector<bytes> batch;
    for (int i = 0; i < 40; ++i)
      batch.push_back(datagram(i % 9 == 8 ? 40 + i : 1232, seq++));
    batch.push_back(datagram(700, seq++));
    sent.insert(sent.end(), batch.begin(), batch.end());
    tx->send_batch(std::move(batch), rx->local_endpoint());
    CAF_REQUIRE(box->wait_for(sent.size()));
  }
  std::lock_guard<std::mutex> guard{box->mtx};
  CAF_REQUIRE_EQUAL(box->got.size(), sent.size());
  size_t same = 0;
  for (size_t i = 0; i < sent.size(); ++i)
    same += box->got[i].first == sent[i] ? 1 : 0;
  CAF_CHECK_EQUAL(same, sent.size());
  CAF_CHECK(box->got.front().second == tx->local_endpoint());
  // recvmmsg hands several datagrams over at once.
  CAF_CHECK_LESS(box->handoffs, sent.size());
  CAF_MESSAGE("GSO " << (tx->gso_enabled() ? "on" : "off") << ", GRO "
                     << (rx->gro_enabled() ? "on" : "off") << ", " << box->handoffs
                     << " hand-offs for " << sent.size() << " datagrams");
}

CAF_TEST(a datagram longer than the receiver takes is dropped alone) {
  tx->send_to(datagram(3000, 1), rx->local_endpoint()); // rx takes 2048 at most
  tx->send_to(datagram(2048, 2), rx->local_endpoint());
  tx->send_to(datagram(2049, 3), rx->local_endpoint());
  tx->send_to(datagram(10, 4), rx->local_endpoint());
  CAF_REQUIRE(box->wait_for(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(50)); // nothing else comes
  std::lock_guard<std::mutex> guard{box->mtx};
  CAF_REQUIRE_EQUAL(box->got.size(), 2u);
  CAF_CHECK(box->got[0].first == datagram(2048, 2));
  CAF_CHECK(box->got[1].first == datagram(10, 4));
}

CAF_TEST_FIXTURE_SCOPE_END()
