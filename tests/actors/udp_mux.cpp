// The node's UDP socket actor over a real loopback socket: an INITIAL
// without a token gets a stateless RETRY, one with the token goes to the
// manager, and an ABORT naming the client's first dcid reaches the responder
// that set-up becomes — also when it came while the manager was still
// setting the responder up. Stand-ins for the manager and the connection
// record what the mux hands them.
#define CAF_SUITE actors.udp_mux
#include <caf/test/unit_test.hpp>

#include "actors/udp_mux.hpp"
#include "transport/rudp/packet.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <sodium.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>

using namespace crust;
using namespace std::chrono_literals;

namespace {

/// What a stand-in actor was handed, waited for by the test thread.
template <class T>
class inbox {
public:
  void push(T x) {
    std::lock_guard<std::mutex> guard{mtx_};
    items_.push_back(std::move(x));
    cv_.notify_all();
  }

  std::optional<T> next(std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, timeout, [&] { return !items_.empty(); }))
      return std::nullopt;
    auto x = std::move(items_.front());
    items_.pop_front();
    return x;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<T> items_;
};

/// A client's plain UDP socket on 127.0.0.1.
struct client_socket {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  uint16_t port = 0;

  client_socket() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t n = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
    port = ntohs(a.sin_port);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  ~client_socket() { ::close(fd); }

  void send_to(const bytes& d, uint16_t to) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(to);
    ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }

  bytes receive() {
    bytes buf(2048);
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }
};

rudp::cid cid_of(uint8_t b) {
  rudp::cid x;
  x.fill(b);
  return x;
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<io_runtime> runtime = std::make_shared<io_runtime>(1);
  std::shared_ptr<datagram_socket> socket;
  std::shared_ptr<inbox<incoming_udp>> to_manager = std::make_shared<inbox<incoming_udp>>();
  std::shared_ptr<inbox<bytes>> to_conn = std::make_shared<inbox<bytes>>();
  caf::actor fake_manager;
  caf::actor fake_conn;
  udp_mux_actor mux;
  uint16_t mux_port = 0;

  fixture() {
    if (sodium_init() < 0)
      CAF_FAIL("libsodium failed to initialise");
    socket = datagram_socket::open(
      runtime->context(),
      datagram_socket::udp::endpoint(boost::asio::ip::address_v4::loopback(), 0), {});
    mux_port = socket->local_endpoint().port();
    // (The inboxes go in as arguments: CAF 0.17 trips UBSan on a spawned
    // function without any.)
    fake_manager = sys.spawn(
      [](std::shared_ptr<inbox<incoming_udp>> q) -> caf::behavior {
        return {[q](incoming_udp& x) { q->push(std::move(x)); }};
      },
      to_manager);
    fake_conn = sys.spawn(
      [](std::shared_ptr<inbox<bytes>> q) -> caf::behavior {
        return {[q](datagram_in& x) { q->push(std::move(x.data)); }};
      },
      to_conn);
    mux = sys.spawn(udp_mux, runtime, socket, caf::actor_cast<manager_actor>(fake_manager),
                    nat_actor{}, logger_ptr{});
  }

  ~fixture() {
    caf::anon_send_exit(mux, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(fake_manager, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(fake_conn, caf::exit_reason::user_shutdown);
  }

  /// Takes `client` through the stateless retry: the manager hears of the
  /// INITIAL (dcid, scid) that returned the token.
  void validated_initial(client_socket& client, const rudp::cid& dcid, const rudp::cid& scid) {
    rudp::initial_packet p;
    p.dcid = dcid;
    p.scid = scid;
    p.noise = bytes(32, 7);
    client.send_to(rudp::encode(p), mux_port);
    auto reply = client.receive();
    rudp::retry_packet r;
    CAF_REQUIRE_EQUAL(rudp::decode(reply.data(), reply.size(), r), ec::none);
    CAF_REQUIRE(r.dcid == scid && r.scid == dcid);
    p.token = r.token;
    client.send_to(rudp::encode(p), mux_port);
    auto in = to_manager->next();
    CAF_REQUIRE(in.has_value());
    CAF_REQUIRE(in->initial->dcid == dcid);
    CAF_CHECK_EQUAL(in->remote.port, client.port);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(udp_mux_tests, fixture)

CAF_TEST(an abort that comes while its responder is set up reaches it once routed) {
  client_socket client;
  auto dcid = cid_of(0xd1), scid = cid_of(0x5c);
  validated_initial(client, dcid, scid);
  // The client gives up before the manager has spawned the responder.
  auto abort = rudp::encode(rudp::abort_packet{dcid, scid, ec::duplicate_connection});
  client.send_to(abort, mux_port);
  // Let the socket's thread hand it to the mux first (should it come after
  // the route instead, the mux forwards it as in the next test).
  std::this_thread::sleep_for(200ms);
  CAF_CHECK(!to_conn->next(0ms));
  caf::anon_send(mux, udp_route{cid_to_u64(cid_of(0x77)), cid_to_u64(dcid),
                                caf::actor_cast<connection_actor>(fake_conn)});
  auto got = to_conn->next();
  CAF_REQUIRE(got.has_value());
  CAF_CHECK(*got == abort);
  CAF_CHECK(!to_conn->next(200ms)); // handed on once
}

CAF_TEST(an abort for a routed responder goes to it and one for nobody nowhere) {
  client_socket client;
  auto dcid = cid_of(0xd2), scid = cid_of(0x5d);
  validated_initial(client, dcid, scid);
  caf::anon_send(mux, udp_route{cid_to_u64(cid_of(0x78)), cid_to_u64(dcid),
                                caf::actor_cast<connection_actor>(fake_conn)});
  // Nobody's: no pending set-up, no route.
  client.send_to(rudp::encode(rudp::abort_packet{cid_of(0xee), scid, ec::dropped}), mux_port);
  auto abort = rudp::encode(rudp::abort_packet{dcid, scid, ec::shutting_down});
  client.send_to(abort, mux_port);
  auto got = to_conn->next();
  CAF_REQUIRE(got.has_value());
  CAF_CHECK(*got == abort);
  CAF_CHECK(!to_conn->next(200ms));
  // Once the route is withdrawn, the first dcid is nobody's again.
  caf::anon_send(mux, udp_route{cid_to_u64(cid_of(0x78)), cid_to_u64(dcid), connection_actor{}});
  std::this_thread::sleep_for(100ms);
  client.send_to(abort, mux_port);
  CAF_CHECK(!to_conn->next(300ms));
}

CAF_TEST_FIXTURE_SCOPE_END()
