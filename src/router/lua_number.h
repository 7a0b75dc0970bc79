// Lua's tonumber() on strings, as LuaJIT applies it in lua-resty-expr:
// the `vars` operators == ~= > >= < <= compare numbers converted this way.
#pragma once

#include <optional>
#include <string_view>

namespace torii::router {

// Decimal ("18", "-1.5", ".5", "1e3") or hexadecimal ("0x1F", "-0x10",
// "0x1p4") with surrounding whitespace allowed; nullopt for anything else,
// including "", "inf" and "nan". Out-of-range decimals give +-inf or 0 as
// strtod does. Allocation-free for inputs under 64 bytes.
std::optional<double> lua_tonumber(std::string_view s);

}  // namespace torii::router
