// The socket side of TCP simultaneous open, over real loopback sockets: a
// listener that shares its port still refuses a port somebody holds; a dial
// leaves from the listening port while the listener keeps accepting; a dial
// that is refused tries again until its window ends, and connects once the
// other side is there. (Both sides in SYN_SENT at once needs two NATs'
// timing: the NAT lab's tcp_punch case proves that part.)
#define CAF_SUITE transport.tcp_punch
#include <caf/test/unit_test.hpp>

#include "transport/io_runtime.hpp"
#include "transport/tcp_listener.hpp"
#include "transport/tcp_stream.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace crust;
using namespace std::chrono_literals;

namespace {

/// What a dial reported, filled from the io thread.
struct outcome {
  std::mutex mtx;
  std::condition_variable cv;
  bool connected = false;
  bool ended = false;
  std::string what;

  bool wait(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, limit, [&] { return connected || ended; });
  }
};

byte_stream::callbacks report_to(std::shared_ptr<outcome> out) {
  byte_stream::callbacks cbs;
  cbs.on_connected = [out] {
    std::lock_guard<std::mutex> guard{out->mtx};
    out->connected = true;
    out->cv.notify_all();
  };
  cbs.on_end = [out](ec, std::string what) {
    std::lock_guard<std::mutex> guard{out->mtx};
    out->ended = true;
    out->what = std::move(what);
    out->cv.notify_all();
  };
  return cbs;
}

/// Accepted streams' remote endpoints.
struct accepted {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<endpoint> remotes;
  std::vector<std::shared_ptr<tcp_stream>> streams;

  bool wait_for(size_t n) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, 5s, [&] { return remotes.size() >= n; });
  }
};

std::shared_ptr<tcp_listener> listen(io_runtime& io, uint16_t port, bool fallback, bool share,
                                     std::string* error = nullptr) {
  auto opened = tcp_listener::open(io.context(), "127.0.0.1", port, fallback, share);
  if (auto what = std::get_if<std::string>(&opened)) {
    if (error)
      *error = *what;
    return nullptr;
  }
  return std::get<std::shared_ptr<tcp_listener>>(opened);
}

void accept_into(const std::shared_ptr<tcp_listener>& l, std::shared_ptr<accepted> box) {
  l->start([box](std::shared_ptr<tcp_stream> s) {
    std::lock_guard<std::mutex> guard{box->mtx};
    box->remotes.push_back(s->remote_endpoint());
    box->streams.push_back(std::move(s));
    box->cv.notify_all();
  });
}

endpoint local_tcp(uint16_t port) {
  return endpoint{protocol::tcp, "127.0.0.1", port};
}

struct fixture {
  io_runtime io{1};
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(tcp_punch_tests, fixture)

CAF_TEST(a shared listening port is still refused when somebody holds it) {
  auto first = listen(io, 0, false, true);
  CAF_REQUIRE(first != nullptr);
  auto port = first->local_endpoint().port;
  CAF_REQUIRE_NOT_EQUAL(port, 0);
  // Another node (sharing too) must not silently share our port.
  std::string error;
  CAF_CHECK(listen(io, port, false, true, &error) == nullptr);
  CAF_MESSAGE("second listener on " << port << ": " << error);
  CAF_CHECK_NOT_EQUAL(error.find("in use"), std::string::npos);
  // With the fallback it takes a random port instead.
  auto second = listen(io, port, true, true);
  CAF_REQUIRE(second != nullptr);
  CAF_CHECK_NOT_EQUAL(second->local_endpoint().port, port);
  first->close();
  second->close();
}

CAF_TEST(a dial leaves from the listening port while the listener accepts) {
  auto ours = listen(io, 0, false, true);
  auto theirs = listen(io, 0, false, false);
  CAF_REQUIRE(ours && theirs);
  auto our_port = ours->local_endpoint().port;
  auto at_theirs = std::make_shared<accepted>();
  auto at_ours = std::make_shared<accepted>();
  accept_into(theirs, at_theirs);
  accept_into(ours, at_ours);
  auto out = std::make_shared<outcome>();
  auto dial = tcp_stream::make(io.context());
  dial->connect_from("127.0.0.1", our_port, local_tcp(theirs->local_endpoint().port), 500ms,
                     std::chrono::steady_clock::now() + 2s, report_to(out));
  CAF_REQUIRE(out->wait(5s));
  CAF_REQUIRE(out->connected);
  CAF_REQUIRE(at_theirs->wait_for(1));
  CAF_CHECK_EQUAL(at_theirs->remotes[0].port, our_port);
  // Our listener still takes connections on the port it shares.
  auto other = std::make_shared<outcome>();
  auto plain = tcp_stream::make(io.context());
  plain->connect(local_tcp(our_port), 2000ms, report_to(other));
  CAF_REQUIRE(other->wait(5s));
  CAF_CHECK(other->connected);
  CAF_CHECK(at_ours->wait_for(1));
  dial->close();
  plain->close();
  ours->close();
  theirs->close();
}

CAF_TEST(a refused dial tries again and connects once the other side listens) {
  auto ours = listen(io, 0, false, true);
  CAF_REQUIRE(ours != nullptr);
  // A free port for "them": taken and given back at once.
  auto probe = listen(io, 0, false, false);
  CAF_REQUIRE(probe != nullptr);
  auto their_port = probe->local_endpoint().port;
  probe->close();
  std::this_thread::sleep_for(50ms);
  auto out = std::make_shared<outcome>();
  auto dial = tcp_stream::make(io.context());
  dial->connect_from("127.0.0.1", ours->local_endpoint().port, local_tcp(their_port), 200ms,
                     std::chrono::steady_clock::now() + 3s, report_to(out));
  std::this_thread::sleep_for(300ms); // several refused tries
  {
    std::lock_guard<std::mutex> guard{out->mtx};
    CAF_REQUIRE(!out->connected && !out->ended);
  }
  auto theirs = listen(io, their_port, false, false);
  CAF_REQUIRE(theirs != nullptr);
  auto at_theirs = std::make_shared<accepted>();
  accept_into(theirs, at_theirs);
  CAF_REQUIRE(out->wait(5s));
  CAF_CHECK(out->connected);
  CAF_CHECK(at_theirs->wait_for(1));
  dial->close();
  ours->close();
  theirs->close();
}

CAF_TEST(a dial nobody answers gives up when its window ends and says how often it tried) {
  auto ours = listen(io, 0, false, true);
  auto probe = listen(io, 0, false, false);
  CAF_REQUIRE(ours && probe);
  auto nobody = probe->local_endpoint().port;
  probe->close();
  std::this_thread::sleep_for(50ms);
  auto out = std::make_shared<outcome>();
  auto dial = tcp_stream::make(io.context());
  auto t0 = std::chrono::steady_clock::now();
  dial->connect_from("127.0.0.1", ours->local_endpoint().port, local_tcp(nobody), 100ms,
                     t0 + 400ms, report_to(out));
  CAF_REQUIRE(out->wait(5s));
  CAF_CHECK(!out->connected);
  CAF_CHECK(out->ended);
  CAF_MESSAGE("gave up: " << out->what);
  CAF_CHECK_NOT_EQUAL(out->what.find("tries"), std::string::npos);
  CAF_CHECK(std::chrono::steady_clock::now() - t0 >= 400ms);
  ours->close();
}

CAF_TEST(a dial from an address of the other family is refused) {
  auto out = std::make_shared<outcome>();
  auto dial = tcp_stream::make(io.context());
  dial->connect_from("::1", 1, local_tcp(2), 100ms, std::chrono::steady_clock::now() + 1s,
                     report_to(out));
  CAF_REQUIRE(out->wait(5s));
  CAF_CHECK(out->ended && !out->connected);
}

CAF_TEST_FIXTURE_SCOPE_END()
