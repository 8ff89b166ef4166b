#pragma once

// NAT-PMP (RFC 6886) port mapping on the default gateway through libnatpmp:
// blocking calls, each bounded by a time budget (libnatpmp's own retries
// would take a minute). Used by the port mapper when no UPnP gateway
// answers.

#include "messages/endpoint.hpp"
#include "nat/port_mapper.hpp"

#include <cstdint>
#include <vector>

namespace crust {

/// Maps each of `ports` (same public port asked for; the gateway may give
/// another) for `lease` seconds.
mapping_result natpmp_map(const std::vector<endpoint>& ports, uint32_t lease,
                          uint32_t budget_ms);

/// Removes the mappings of `ports` (our private ports).
void natpmp_unmap(const std::vector<endpoint>& ports, uint32_t budget_ms);

} // namespace crust
