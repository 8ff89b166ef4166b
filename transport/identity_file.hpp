#pragma once

#include "transport/identity.hpp"

#include <string>
#include <variant>

namespace crust {

/// Loads the identity stored at `path`, or creates one there (mode 0600,
/// written to a temporary file, fsync'd and renamed into place) when the file
/// does not exist. A file that exists but does not parse is never
/// overwritten: the result is an error message naming the file.
std::variant<identity, std::string> load_or_create_identity(const std::string& path);

/// The text stored in an identity file: a header line and the hex seed.
std::string serialize_identity(const identity& id);

/// Parses `serialize_identity`'s output, or says why it cannot.
std::variant<identity, std::string> parse_identity(const std::string& text);

} // namespace crust
