#pragma once

#include "messages/ec.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace crust {

/// The CAF error category of crust's `ec` codes. (Deliberately no ADL
/// `make_error(ec)`: CAF 0.17 would then turn every `ec` in a message into a
/// caf::error.)
constexpr caf::atom_value error_category = caf::atom("crust");

inline caf::error to_caf_error(ec x) {
  return caf::error{static_cast<uint8_t>(x), error_category};
}

/// The `ec` inside a CAF error of crust's category, or `ec::none`.
inline ec to_ec(const caf::error& x) {
  return x.category() == error_category ? static_cast<ec>(x.code()) : ec::none;
}

} // namespace crust
