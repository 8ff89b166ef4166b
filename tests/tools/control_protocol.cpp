// crust-node's control lines: every command parses, and every bad line gets
// an error that says what is wrong.
#define CAF_SUITE tools.control_protocol
#include <caf/test/unit_test.hpp>

#include "control_protocol.hpp"

using namespace crust;
using namespace crust::control;

namespace {

const std::string peer_hex(64, 'a');

template <class T>
T parse_as(const std::string& line) {
  auto result = parse_command(line);
  if (auto err = std::get_if<std::string>(&result))
    CAF_FAIL("'" << line << "' failed: " << *err);
  auto& cmd = std::get<command>(result);
  if (auto x = std::get_if<T>(&cmd.body))
    return *x;
  CAF_FAIL("'" << line << "' parsed as another command");
}

std::string error_of(const std::string& line) {
  auto result = parse_command(line);
  if (auto err = std::get_if<std::string>(&result))
    return *err;
  return "";
}

} // namespace

CAF_TEST(every command parses) {
  auto c = parse_as<crust::connect>(R"({"cmd":"connect","endpoint":"tcp://[::1]:5483"})");
  CAF_CHECK_EQUAL(c.remote.address, "::1");
  CAF_CHECK_EQUAL(c.remote.port, 5483);
  auto s = parse_as<send_request>(R"({"cmd":"send","peer":")" + peer_hex
                                  + R"(","data":"hi","priority":0,"count":3})");
  CAF_CHECK(s.msg.payload == bytes({'h', 'i'}));
  CAF_CHECK_EQUAL(s.msg.priority, 0);
  CAF_CHECK_EQUAL(s.count, 3u);
  auto h = parse_as<send_request>(R"({"cmd":"send","peer":")" + peer_hex + R"(","hex":"00ff"})");
  CAF_CHECK(h.msg.payload == bytes({0x00, 0xff}));
  CAF_CHECK_EQUAL(h.msg.priority, 2); // the default
  parse_as<crust::maintain>(R"({"cmd":"maintain","peer":")" + peer_hex + R"("})");
  parse_as<crust::drop>(R"({"cmd":"drop","peer":")" + peer_hex + R"("})");
  auto b = parse_as<crust::blacklist>(R"({"cmd":"blacklist","subnet":"198.51.100.0/24"})");
  CAF_CHECK(b.entry.kind == blacklist_kind::subnet);
  CAF_CHECK_EQUAL(b.entry.prefix_len, 24);
  parse_as<crust::blacklist>(R"({"cmd":"blacklist","address":"203.0.113.9"})");
  parse_as<crust::blacklist>(R"({"cmd":"blacklist","peer":")" + peer_hex + R"("})");
  parse_as<peers_request>(R"({"cmd":"peers"})");
  parse_as<info_request>(R"({"cmd":"info"})");
  parse_as<listen_request>(R"({"cmd":"listen"})");
  parse_as<unlisten_request>(R"({"cmd":"unlisten"})");
  parse_as<quit_request>(R"({"cmd":"quit"})");
}

CAF_TEST(the id of a command is kept for its reply) {
  auto result = parse_command(R"({"cmd":"peers","id":42})");
  CAF_REQUIRE(std::holds_alternative<command>(result));
  CAF_CHECK_EQUAL(std::get<command>(result).id.get<int>(), 42);
}

CAF_TEST(bad lines get errors that name the problem) {
  CAF_CHECK_EQUAL(error_of("not json"), "not valid JSON");
  CAF_CHECK_EQUAL(error_of("[1,2]"), "a command must be a JSON object");
  CAF_CHECK_EQUAL(error_of(R"({"command":"x"})"), "missing \"cmd\"");
  CAF_CHECK(error_of(R"({"cmd":"fly"})").find("unknown command \"fly\"") == 0);
  CAF_CHECK(error_of(R"({"cmd":"connect"})").find("connect needs \"endpoint\"") == 0);
  CAF_CHECK_EQUAL(error_of(R"({"cmd":"connect","endpoint":"localhost:80"})"),
                  "not an endpoint: localhost:80");
  CAF_CHECK_EQUAL(error_of(R"({"cmd":"connect","endpoint":"tcp://1.2.3.4:99999"})"),
                  "not an endpoint: tcp://1.2.3.4:99999");
  CAF_CHECK_EQUAL(error_of(R"({"cmd":"send","peer":"abc","data":"x"})"),
                  "\"peer\" must be 64 hex digits");
  CAF_CHECK_EQUAL(error_of(R"({"cmd":"send","peer":")" + peer_hex + R"("})"),
                  "send needs \"data\" (text) or \"hex\"");
  CAF_CHECK_EQUAL(error_of(R"({"cmd":"send","peer":")" + peer_hex + R"(","hex":"zz"})"),
                  "\"hex\" is not valid hex");
  CAF_CHECK_EQUAL(error_of(R"({"cmd":"send","peer":")" + peer_hex
                           + R"(","data":"x","priority":9})"),
                  "\"priority\" must be 0 (urgent) to 3 (bulk)");
  CAF_CHECK_EQUAL(error_of(R"({"cmd":"send","peer":")" + peer_hex + R"(","data":"x","count":0})"),
                  "\"count\" must be 1 to 10000000");
  CAF_CHECK_EQUAL(error_of(R"({"cmd":"blacklist","subnet":"10.0.0.0/33"})"),
                  "\"subnet\" must look like 10.0.0.0/8");
  CAF_CHECK_EQUAL(error_of(R"({"cmd":"blacklist"})"),
                  "blacklist needs \"peer\", \"address\" or \"subnet\"");
}

CAF_TEST(events carry printable payloads as text and others as hex) {
  message m;
  m.payload = bytes{'o', 'k'};
  auto j = to_json(m);
  CAF_CHECK_EQUAL(j["event"].get<std::string>(), "message");
  CAF_CHECK_EQUAL(j["data"].get<std::string>(), "ok");
  m.payload = bytes{0, 1, '\n'};
  j = to_json(m);
  CAF_CHECK(!j.contains("data"));
  CAF_CHECK_EQUAL(j["hex"].get<std::string>(), "00010a");
  CAF_CHECK_EQUAL(j["size"].get<size_t>(), 3u);
  connection_down d{peer_id{}, ec::peer_timeout};
  CAF_CHECK_EQUAL(to_json(d)["reason"].get<std::string>(), "peer_timeout");
}

CAF_TEST(repeated sends are numbered) {
  bytes base{'m'};
  CAF_CHECK(numbered_payload(base, 0, 1) == base);
  CAF_CHECK(numbered_payload(base, 7, 10) == bytes({'m', ' ', '7'}));
}
