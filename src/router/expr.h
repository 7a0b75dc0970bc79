// lua-resty-expr, the `vars` DSL of APISIX routes, plugin `_meta.filter`,
// traffic-split matches and more. Compiled once from JSON; evaluated per
// request against a VarSource. Regex operators run on RE2.
//
// Forms (reference/apisix.md 3.2):
//   [expr, expr, ...]                 AND of expressions
//   ["AND"|"OR"|"!AND"|"!OR", e, ...]  logical groups, nestable
//   [var, op, value] / [var, "!", op, value]
//   ops: == ~= > < >= <= ~~ ~* in has ipmatch
//   [var, value] (two elements, the second not an operator) is the legacy
//   spelling of [var, "==", value]; [var, op, value] with an unknown op is an
//   error ("invalid operator '<op>'"), as in lua-resty-expr's compile_expr.
#pragma once

#include <boost/json/value.hpp>
#include <memory>

#include "core/result.h"
#include "http/variables.h"

namespace torii::router {

class Expr {
 public:
  virtual ~Expr() = default;
  // Compiles `vars`. Errors use APISIX wording where it has one, e.g.
  // "invalid operator '=~'", and name the construct RE2 refuses.
  static core::Result<std::unique_ptr<Expr>> compile(const boost::json::value& vars);
  // True when the request satisfies the expression. Thread-safe.
  virtual bool eval(const http::VarSource& vars) const = 0;
};

}  // namespace torii::router
