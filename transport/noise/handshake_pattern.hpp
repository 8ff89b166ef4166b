#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crust::noise {

/// A token of a Noise message pattern.
enum class token { e, s, ee, es, se, ss };

/// One handshake message: who sends it and the tokens it carries.
struct message_pattern {
  bool from_initiator = true;
  std::vector<token> tokens;
};

/// A Noise handshake pattern: pre-messages and messages.
struct handshake_pattern {
  std::string name;                  ///< e.g. "XX", "IK1"
  std::vector<token> initiator_pre;  ///< keys the responder knows beforehand (`-> s`)
  std::vector<token> responder_pre;  ///< keys the initiator knows beforehand (`<- s`)
  std::vector<message_pattern> messages;

  /// One-way patterns (N, K, X) carry transport messages in one direction only.
  bool one_way() const { return messages.size() == 1; }
};

/// The pattern with that name, from the fundamental, one-way and deferred
/// patterns of the Noise specification (rev. 34, no PSK), or nothing.
std::optional<handshake_pattern> find_pattern(std::string_view name);

/// The names of every pattern `find_pattern` knows.
std::vector<std::string> known_patterns();

} // namespace crust::noise
