#include "transport/noise/handshake_pattern.hpp"

#include <sstream>

namespace crust::noise {

namespace {

/// The patterns as the specification writes them: pre-messages before "...",
/// then one message per ";". Parsed once, at first use.
struct pattern_text {
  const char* name;
  const char* text;
};

constexpr pattern_text pattern_table[] = {
  // One-way patterns (spec section 7.4).
  {"N", "<- s ... -> e, es"},
  {"K", "-> s <- s ... -> e, es, ss"},
  {"X", "<- s ... -> e, es, s, ss"},
  // Fundamental interactive patterns (section 7.5).
  {"NN", "-> e; <- e, ee"},
  {"NK", "<- s ... -> e, es; <- e, ee"},
  {"NX", "-> e; <- e, ee, s, es"},
  {"KN", "-> s ... -> e; <- e, ee, se"},
  {"KK", "-> s <- s ... -> e, es, ss; <- e, ee, se"},
  {"KX", "-> s ... -> e; <- e, ee, se, s, es"},
  {"XN", "-> e; <- e, ee; -> s, se"},
  {"XK", "<- s ... -> e, es; <- e, ee; -> s, se"},
  {"XX", "-> e; <- e, ee, s, es; -> s, se"},
  {"IN", "-> e, s; <- e, ee, se"},
  {"IK", "<- s ... -> e, es, s, ss; <- e, ee, se"},
  {"IX", "-> e, s; <- e, ee, se, s, es"},
  // Deferred patterns (section 7.6).
  {"NK1", "<- s ... -> e; <- e, ee, es"},
  {"NX1", "-> e; <- e, ee, s; -> es"},
  {"X1N", "-> e; <- e, ee; -> s; <- se"},
  {"X1K", "<- s ... -> e, es; <- e, ee; -> s; <- se"},
  {"XK1", "<- s ... -> e; <- e, ee, es; -> s, se"},
  {"X1K1", "<- s ... -> e; <- e, ee, es; -> s; <- se"},
  {"X1X", "-> e; <- e, ee, s, es; -> s; <- se"},
  {"XX1", "-> e; <- e, ee, s; -> es, s, se"},
  {"X1X1", "-> e; <- e, ee, s; -> es, s; <- se"},
  {"K1N", "-> s ... -> e; <- e, ee; -> se"},
  {"K1K", "-> s <- s ... -> e, es; <- e, ee; -> se"},
  {"KK1", "-> s <- s ... -> e; <- e, ee, se, es"},
  {"K1K1", "-> s <- s ... -> e; <- e, ee, es; -> se"},
  {"K1X", "-> s ... -> e; <- e, ee, s, es; -> se"},
  {"KX1", "-> s ... -> e; <- e, ee, se, s; -> es"},
  {"K1X1", "-> s ... -> e; <- e, ee, s; -> se, es"},
  {"I1N", "-> e, s; <- e, ee; -> se"},
  {"I1K", "<- s ... -> e, es, s; <- e, ee; -> se"},
  {"IK1", "<- s ... -> e, s; <- e, ee, se, es"},
  {"I1K1", "<- s ... -> e, s; <- e, ee, es; -> se"},
  {"I1X", "-> e, s; <- e, ee, s, es; -> se"},
  {"IX1", "-> e, s; <- e, ee, se, s; -> es"},
  {"I1X1", "-> e, s; <- e, ee, s; -> se, es"},
};

token parse_token(const std::string& word) {
  if (word == "e") return token::e;
  if (word == "s") return token::s;
  if (word == "ee") return token::ee;
  if (word == "es") return token::es;
  if (word == "se") return token::se;
  return token::ss;
}

/// Splits "-> e, es" / "<- s" groups into (direction, tokens) runs.
std::vector<message_pattern> parse_messages(const std::string& text) {
  std::vector<message_pattern> result;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    if (word == "->" || word == "<-") {
      result.push_back({word == "->", {}});
      continue;
    }
    while (!word.empty() && (word.back() == ',' || word.back() == ';'))
      word.pop_back();
    if (!word.empty() && !result.empty())
      result.back().tokens.push_back(parse_token(word));
  }
  return result;
}

handshake_pattern parse_pattern(const pattern_text& x) {
  handshake_pattern result;
  result.name = x.name;
  std::string text = x.text;
  auto dots = text.find("...");
  if (dots != std::string::npos) {
    for (auto& pre : parse_messages(text.substr(0, dots)))
      (pre.from_initiator ? result.initiator_pre : result.responder_pre) = pre.tokens;
    text = text.substr(dots + 3);
  }
  result.messages = parse_messages(text);
  return result;
}

} // namespace

std::optional<handshake_pattern> find_pattern(std::string_view name) {
  for (auto& x : pattern_table)
    if (name == x.name)
      return parse_pattern(x);
  return std::nullopt;
}

std::vector<std::string> known_patterns() {
  std::vector<std::string> result;
  for (auto& x : pattern_table)
    result.emplace_back(x.name);
  return result;
}

} // namespace crust::noise
