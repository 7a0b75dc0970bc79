// Expr: compiles lua-resty-expr rules from JSON into a tree of logical groups
// and comparisons, and evaluates that tree against one request's variables.
// Semantics follow lua-resty-expr v1 (compile_expr / compare_funcs), including
// its Lua typing quirks; see expr.h and reference/apisix.md 3.2.
#include "router/expr.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "router/ip_matcher.h"
#include "router/lua_number.h"
#include "router/user_regex.h"

namespace torii::router {
namespace {

namespace json = boost::json;

enum class Op : uint8_t { kEq, kNe, kGt, kGe, kLt, kLe, kFind, kFindCi, kIn, kHas, kIpMatch };

struct OpName {
  std::string_view name;
  Op op;
};
constexpr std::array<OpName, 11> kOps{{
    {"==", Op::kEq},
    {"~=", Op::kNe},
    {">", Op::kGt},
    {">=", Op::kGe},
    {"<", Op::kLt},
    {"<=", Op::kLe},
    {"~~", Op::kFind},
    {"~*", Op::kFindCi},
    {"in", Op::kIn},
    {"has", Op::kHas},
    {"ipmatch", Op::kIpMatch},
}};

std::optional<Op> find_op(std::string_view name) {
  for (const OpName& o : kOps) {
    if (o.name == name) return o.op;
  }
  return std::nullopt;
}

// How the right-hand side of == / ~= compares; Lua's `==` never equates a
// string with a number, boolean or table, hence kOther.
enum class RhsKind : uint8_t { kNil, kString, kNumber, kOther };

struct Compare {
  http::VarRef var;
  Op op = Op::kEq;
  bool negate = false;
  RhsKind rhs_kind = RhsKind::kNil;
  std::string rhs_string;
  std::optional<double> rhs_number;  // == / ~= numbers, and tonumber(rhs) for > >= < <=
  std::vector<std::string> in_list;  // `in`: the string members of the array
  std::unique_ptr<re2::RE2> regex;
  std::optional<IpMatcher> ips;
};

struct Node {
  enum class Kind : uint8_t { kAnd, kOr, kNotAnd, kNotOr, kCompare };
  Kind kind = Kind::kAnd;
  std::vector<Node> children;
  std::unique_ptr<Compare> cmp;
};

// Request values are short; a stack copy gives inet_pton its NUL without
// allocating on the request path.
std::optional<boost::asio::ip::address> parse_ip(std::string_view s) {
  std::array<char, INET6_ADDRSTRLEN + 1> buf{};
  if (s.empty() || s.size() >= buf.size() - 1) return std::nullopt;
  std::memcpy(buf.data(), s.data(), s.size());
  in_addr a4{};
  if (inet_pton(AF_INET, buf.data(), &a4) == 1) {
    return boost::asio::ip::address(boost::asio::ip::address_v4(ntohl(a4.s_addr)));
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, buf.data(), &a6) == 1) {
    boost::asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), a6.s6_addr, bytes.size());
    return boost::asio::ip::address(boost::asio::ip::address_v6(bytes));
  }
  return std::nullopt;
}

bool equals(const Compare& c, std::optional<std::string_view> v) {
  switch (c.rhs_kind) {
    case RhsKind::kNil:
      return !v.has_value();
    case RhsKind::kString:
      return v && *v == c.rhs_string;
    case RhsKind::kNumber: {
      if (!v) return false;
      std::optional<double> l = lua_tonumber(*v);
      return l && *l == *c.rhs_number;
    }
    case RhsKind::kOther:
      return false;
  }
  return false;
}

bool compare(const Compare& c, std::optional<std::string_view> v) {
  switch (c.op) {
    case Op::kEq:
      return equals(c, v);
    case Op::kNe:
      return !equals(c, v);
    case Op::kGt:
    case Op::kGe:
    case Op::kLt:
    case Op::kLe: {
      if (!v || !c.rhs_number) return false;
      std::optional<double> l = lua_tonumber(*v);
      if (!l) return false;
      double r = *c.rhs_number;
      if (c.op == Op::kGt) return *l > r;
      if (c.op == Op::kGe) return *l >= r;
      if (c.op == Op::kLt) return *l < r;
      return *l <= r;
    }
    case Op::kFind:
    case Op::kFindCi:
      return v && re2::RE2::PartialMatch(re2::StringPiece(v->data(), v->size()), *c.regex);
    case Op::kIn:
      if (!v) return false;
      for (const std::string& s : c.in_list) {
        if (s == *v) return true;
      }
      return false;
    case Op::kHas:
      // `has` looks for the value inside an array variable; request
      // variables here are strings, which lua-resty-expr never matches.
      return false;
    case Op::kIpMatch: {
      if (!v) return false;
      std::optional<boost::asio::ip::address> addr = parse_ip(*v);
      return addr && c.ips->contains(*addr);
    }
  }
  return false;
}

bool eval_node(const Node& n, const http::VarSource& vars) {
  switch (n.kind) {
    case Node::Kind::kCompare:
      return compare(*n.cmp, vars.get(n.cmp->var)) != n.cmp->negate;
    case Node::Kind::kAnd:
    case Node::Kind::kNotAnd: {
      bool all = true;
      for (const Node& c : n.children) {
        if (!eval_node(c, vars)) {
          all = false;
          break;
        }
      }
      return n.kind == Node::Kind::kAnd ? all : !all;
    }
    case Node::Kind::kOr:
    case Node::Kind::kNotOr: {
      bool any = false;
      for (const Node& c : n.children) {
        if (eval_node(c, vars)) {
          any = true;
          break;
        }
      }
      return n.kind == Node::Kind::kOr ? any : !any;
    }
  }
  return false;
}

std::optional<Node::Kind> logic_op(const json::value& v) {
  const json::string* s = v.if_string();
  if (!s) return std::nullopt;
  std::string up(s->data(), s->size());
  for (char& c : up) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (up == "AND") return Node::Kind::kAnd;
  if (up == "OR") return Node::Kind::kOr;
  if (up == "!AND") return Node::Kind::kNotAnd;
  if (up == "!OR") return Node::Kind::kNotOr;
  return std::nullopt;
}

double json_number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

// Lua's tostring() of a number ("%.14g"): a numeric legacy value such as
// ["arg_a", 5] compares as the string "5".
std::string lua_tostring(double d) {
  std::array<char, 32> buf;
  int n = std::snprintf(buf.data(), buf.size(), "%.14g", d);
  return std::string(buf.data(), n > 0 ? static_cast<size_t>(n) : 0);
}

std::string child_path(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

core::Result<Node> compile_rule(const json::array& rules, const std::string& path);

core::Result<Node> compile_children(const json::array& rules, size_t first, Node::Kind kind,
                                    const std::string& path) {
  Node node;
  node.kind = kind;
  node.children.reserve(rules.size() - first);
  for (size_t i = first; i < rules.size(); ++i) {
    const json::array* child = rules[i].if_array();
    if (!child) return core::config_error("invalid expression");
    core::Result<Node> c = compile_rule(*child, child_path(path, i));
    if (!c) return c.error();
    node.children.push_back(std::move(c.value()));
  }
  return node;
}

core::Status fill_rhs(Compare& c, const json::value* rhs, std::optional<std::string> legacy,
                      const std::string& path) {
  switch (c.op) {
    case Op::kEq:
    case Op::kNe:
      if (legacy) {
        c.rhs_kind = RhsKind::kString;
        c.rhs_string = std::move(*legacy);
      } else if (!rhs || rhs->is_null()) {
        c.rhs_kind = RhsKind::kNil;
      } else if (const json::string* s = rhs->if_string()) {
        c.rhs_kind = RhsKind::kString;
        c.rhs_string.assign(s->data(), s->size());
      } else if (rhs->is_number()) {
        c.rhs_kind = RhsKind::kNumber;
        c.rhs_number = json_number(*rhs);
      } else {
        c.rhs_kind = RhsKind::kOther;
      }
      return core::ok_status();
    case Op::kGt:
    case Op::kGe:
    case Op::kLt:
    case Op::kLe:
      if (rhs && rhs->is_number()) {
        c.rhs_number = json_number(*rhs);
      } else if (rhs && rhs->is_string()) {
        c.rhs_number = lua_tonumber(std::string_view(rhs->get_string()));
      }
      return core::ok_status();
    case Op::kFind:
    case Op::kFindCi: {
      const json::string* s = rhs ? rhs->if_string() : nullptr;
      if (!s) return core::config_error(path + ": regex must be a string");
      auto re = compile_user_regex(std::string_view(*s), c.op == Op::kFindCi);
      if (!re) return core::config_error(path + ": " + re.error().message);
      c.regex = std::move(re.value());
      return core::ok_status();
    }
    case Op::kIn:
      if (const json::array* a = rhs ? rhs->if_array() : nullptr) {
        for (const json::value& m : *a) {
          if (const json::string* s = m.if_string()) c.in_list.emplace_back(s->data(), s->size());
        }
      }
      return core::ok_status();
    case Op::kHas:
      return core::ok_status();
    case Op::kIpMatch: {
      std::vector<std::string> entries;
      if (const json::string* s = rhs ? rhs->if_string() : nullptr) {
        entries.emplace_back(s->data(), s->size());
      } else if (const json::array* a = rhs ? rhs->if_array() : nullptr) {
        for (const json::value& m : *a) {
          const json::string* s = m.if_string();
          if (!s) return core::config_error(path + ": ipmatch needs an ip or a list of ips");
          entries.emplace_back(s->data(), s->size());
        }
      } else {
        return core::config_error(path + ": ipmatch needs an ip or a list of ips");
      }
      auto ips = IpMatcher::build(entries);
      if (!ips) return core::config_error(path + ": " + ips.error().message);
      c.ips = std::move(ips.value());
      return core::ok_status();
    }
  }
  return core::ok_status();
}

// [var, op, value] or [var, "!", op, value]; [var, value] is the legacy
// spelling of [var, "==", value].
core::Result<Node> compile_expr(const json::array& e, const std::string& path) {
  const json::value* var = &e[0];
  const json::value* op = e.size() > 1 ? &e[1] : nullptr;
  const json::value* rhs = e.size() > 2 ? &e[2] : nullptr;
  bool negate = false;
  if (e.size() == 4) {
    const json::string* bang = e[1].if_string();
    if (!bang || *bang != "!") return core::config_error("bad 'not' expression");
    negate = true;
    op = &e[2];
    rhs = &e[3];
  }

  std::optional<std::string> op_name;
  if (op) {
    if (const json::string* s = op->if_string()) {
      op_name.emplace(s->data(), s->size());
      for (char& ch : *op_name) {
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      }
    } else if (op->is_number()) {
      op_name = lua_tostring(json_number(*op));
    } else {
      return core::config_error("invalid expression");
    }
  }

  std::optional<std::string> legacy;
  if (!rhs && !(op_name && find_op(*op_name))) {
    if (!op_name) return core::config_error("invalid expression");
    legacy = std::move(*op_name);
    op_name = "==";
  }
  const json::string* var_name = var->if_string();
  if (!var_name) return core::config_error("invalid expression");
  std::optional<Op> parsed = find_op(*op_name);
  if (!parsed) return core::config_error("invalid operator '" + *op_name + "'");

  auto cmp = std::make_unique<Compare>();
  cmp->var = http::VarRef::parse(std::string_view(*var_name));
  cmp->op = *parsed;
  cmp->negate = negate;
  core::Status st = fill_rhs(*cmp, rhs, std::move(legacy), path);
  if (!st) return st.error();
  Node node;
  node.kind = Node::Kind::kCompare;
  node.cmp = std::move(cmp);
  return node;
}

core::Result<Node> compile_rule(const json::array& rules, const std::string& path) {
  if (rules.empty()) return core::config_error("rule too short");
  if (rules[0].is_array()) return compile_children(rules, 0, Node::Kind::kAnd, path);
  if (std::optional<Node::Kind> kind = logic_op(rules[0])) {
    if (rules.size() <= 2) return core::config_error("rule too short");
    return compile_children(rules, 1, *kind, path);
  }
  return compile_expr(rules, path);
}

class CompiledExpr final : public Expr {
 public:
  explicit CompiledExpr(std::optional<Node> root) : root_(std::move(root)) {}
  bool eval(const http::VarSource& vars) const override {
    return !root_ || eval_node(*root_, vars);
  }

 private:
  std::optional<Node> root_;  // nullopt: the empty rule, always true
};

}  // namespace

core::Result<std::unique_ptr<Expr>> Expr::compile(const boost::json::value& vars) {
  const json::array* rules = vars.if_array();
  if (!rules) return core::config_error("rule should be wrapped inside brackets");
  if (rules->empty()) return std::unique_ptr<Expr>(std::make_unique<CompiledExpr>(std::nullopt));
  // A bare [var, op, value] at the top is refused, as lua-resty-expr does:
  // the top level is a list of expressions or a logical group.
  if (!(*rules)[0].is_array() && !logic_op((*rules)[0])) {
    return core::config_error("rule should be wrapped inside brackets");
  }
  core::Result<Node> root = compile_rule(*rules, "vars");
  if (!root) return root.error();
  return std::unique_ptr<Expr>(std::make_unique<CompiledExpr>(std::move(root.value())));
}

}  // namespace torii::router
