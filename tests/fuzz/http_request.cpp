// Fuzzes crust-node's metrics listener (status_http: cpp-httplib's request
// parsing behind our routes and limits): each input is sent as the whole
// request on a fresh loopback connection, the write side then closed; the
// listener must answer or close, and stay up for the next input (a crash,
// a hang past the fuzzer's timeout, or a refused connection fails). The
// rate limit answers most inputs with 429 after the parse: the parse is
// what is fuzzed. Loopback only.
#include "status_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

std::unique_ptr<crust::status_http> server;
uint16_t port = 0;

std::string exchange(const uint8_t* data, size_t size) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    std::abort();
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    std::abort(); // the listener is gone
  size_t sent = 0;
  while (sent < size) {
    auto n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0)
      break; // it closed on us: fine
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  for (;;) {
    auto n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!server) {
    auto board = std::make_shared<crust::status_board>();
    crust::metrics_input in;
    board->publish(crust::render_status(in));
    auto started = crust::status_http::start("127.0.0.1", 0, board);
    if (!std::holds_alternative<std::unique_ptr<crust::status_http>>(started))
      std::abort();
    server = std::move(std::get<std::unique_ptr<crust::status_http>>(started));
    port = server->port();
  }
  (void) exchange(data, size);
  return 0;
}
