#pragma once

// The bootstrap list a node serves to a peer that asks (service
// `bootstrap_response`):  count u8 (0..32) | count × (peer (32) | endpoint).

#include "messages/bootstrap_entry.hpp"
#include "messages/bytes.hpp"
#include "messages/ec.hpp"

#include <vector>

namespace crust {

constexpr size_t max_bootstrap_list = 32;

/// At most `max_bootstrap_list` entries are encoded.
bytes encode_bootstrap_list(const std::vector<bootstrap_entry>& xs);

/// Validates everything: the count, each endpoint (dialable), no trailing
/// bytes. Any fault rejects the whole list with `bad_record`.
ec decode_bootstrap_list(const bytes& body, std::vector<bootstrap_entry>& out);

} // namespace crust
