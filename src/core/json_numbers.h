// Non-finite numbers in parsed JSON.
//
// Boost.JSON 1.81 reads a number too large for a double (1e400) as infinity
// and serialises it back as `inf`, which no JSON reader accepts. A document
// holding one is refused where it enters (an Admin API body, a standalone
// JSON file, a value read from the config store): stored, it would make the
// store's copy unreadable, and every reply that echoes it invalid JSON.
#pragma once

#include <boost/json/value.hpp>

namespace torii::core {

// True when every number in `v`, at any depth, is finite.
bool json_numbers_finite(const boost::json::value& v);

}  // namespace torii::core
