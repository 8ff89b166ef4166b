#include "transport/logger.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace crust {

std::string to_string(log_level x) {
  switch (x) {
    case log_level::off: return "off";
    case log_level::error: return "error";
    case log_level::warning: return "warning";
    case log_level::info: return "info";
    case log_level::debug: return "debug";
    case log_level::trace: return "trace";
  }
  return "unknown";
}

std::optional<log_level> parse_log_level(std::string_view str) {
  for (auto x : {log_level::off, log_level::error, log_level::warning, log_level::info,
                 log_level::debug, log_level::trace})
    if (str == to_string(x))
      return x;
  if (str == "warn")
    return log_level::warning;
  return std::nullopt;
}

namespace {

const char* tag(log_level x) {
  switch (x) {
    case log_level::error: return "ERROR";
    case log_level::warning: return "WARN ";
    case log_level::info: return "INFO ";
    case log_level::debug: return "DEBUG";
    case log_level::trace: return "TRACE";
    default: return "?    ";
  }
}

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms));
  return buf;
}

} // namespace

logger::logger(log_level level, const peer_id& node, sink out)
  : level_(level), node_(short_string(node)), out_(std::move(out)) {
}

void logger::write(log_level x, const peer_id* peer, std::string_view component,
                   const std::string& text) const {
  std::string line = timestamp();
  line += ' ';
  line += tag(x);
  line += " node=";
  line += node_;
  line += " peer=";
  line += peer ? short_string(*peer) : std::string{"-"};
  line += ' ';
  line += component;
  line += ": ";
  line += text;
  if (out_) {
    out_(x, line);
    return;
  }
  line += '\n';
  // One write per line: lines from several threads never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace crust
