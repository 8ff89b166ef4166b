// The logger: line format, level filtering, and level names.
#define CAF_SUITE transport.logger
#include <caf/test/unit_test.hpp>

#include "transport/logger.hpp"

#include <regex>
#include <vector>

using namespace crust;

namespace {

peer_id id_of(uint8_t fill) {
  peer_id x;
  x.key.fill(fill);
  return x;
}

} // namespace

CAF_TEST(level names parse and print) {
  for (auto x : {log_level::off, log_level::error, log_level::warning, log_level::info,
                 log_level::debug, log_level::trace})
    CAF_CHECK(parse_log_level(to_string(x)) == x);
  CAF_CHECK(parse_log_level("warn") == log_level::warning);
  CAF_CHECK(!parse_log_level("loud"));
  CAF_CHECK(!parse_log_level(""));
}

CAF_TEST(lines carry time and level and node and peer) {
  std::vector<std::string> lines;
  auto lg = std::make_shared<logger>(log_level::info, id_of(0xab),
                                     [&](log_level, const std::string& l) { lines.push_back(l); });
  auto peer = id_of(0x12);
  CRUST_LOG(lg, info, &peer, "manager", "connection up: " << 42);
  CRUST_LOG(lg, warning, nullptr, "acceptor", "no peer here");
  CAF_REQUIRE_EQUAL(lines.size(), 2u);
  std::regex line1(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  node=abababab peer=12121212 )"
                   R"(manager: connection up: 42)");
  CAF_CHECK(std::regex_match(lines[0], line1));
  CAF_CHECK(lines[1].find("WARN  node=abababab peer=- acceptor: no peer here")
            != std::string::npos);
}

CAF_TEST(lines below the level are neither formatted nor written) {
  std::vector<std::string> lines;
  auto lg = std::make_shared<logger>(log_level::warning, id_of(1),
                                     [&](log_level, const std::string& l) { lines.push_back(l); });
  int evaluated = 0;
  auto count = [&] { return ++evaluated; };
  CRUST_LOG(lg, info, nullptr, "x", count());
  CRUST_LOG(lg, debug, nullptr, "x", count());
  CRUST_LOG(lg, error, nullptr, "x", count());
  CAF_CHECK_EQUAL(evaluated, 1);
  CAF_CHECK_EQUAL(lines.size(), 1u);
  auto off = std::make_shared<logger>(log_level::off, id_of(1),
                                      [&](log_level, const std::string& l) { lines.push_back(l); });
  CRUST_LOG(off, error, nullptr, "x", count());
  logger_ptr none;
  CRUST_LOG(none, error, nullptr, "x", count());
  CAF_CHECK_EQUAL(evaluated, 1);
}
