"""The expression language of conditions: a safe subset of Expr (expr-lang/expr).

An expression is parsed by an LALR grammar (lark), type-checked and compiled into nested
Python closures that read only the event's JSON: no `eval`, no attribute access on Python
objects. `expression_compile(source)` returns `event -> bool` or raises `ExpressionError`
with the 1-based line and column of the problem. Limits: 4,096 characters, 64 levels of
nesting (parentheses count), 1,000 nodes.

Language
- Logic: `and`/`&&`, `or`/`||`, `not`/`!`, parentheses. As in Expr, `!`/`not` binds tighter
  than comparisons, so negate a comparison as `!(a == b)` (or use `!=`, `not in`, ...), and
  `&&` binds tighter than `||`. Their operands are conditions or fields (`!success`,
  `mfa || success`): as Expr's checker, a field is untyped and may stand where true or false
  is expected, while a string, number, nil, array or `lower()`/`upper()`/`len()` may not.
- Comparisons: `== != < > <= >=`, `in` / `not in`, `contains`, `startsWith`, `endsWith`,
  `matches` (RE2 search; the pattern must be a string literal), each also with `not`
  (`not contains`, ...). A comparison cannot be chained (`a == b == c`).
- Literals: strings in "double" or 'single' quotes with Go/Expr escapes (`\\n`, `\\t`, `\\"`,
  `\\\\`, `\\xHH`, `\\uHHHH`, `\\UHHHHHHHH`, octal `\\ooo`), raw strings in backticks, integers,
  floats, `-` before a number, `true`, `false`, `nil`, arrays of literals `[1, "a", nil]`.
  Comments `// ...` and `/* ... */` are allowed.
- Paths: `initiated_by.email`; `?.` behaves like `.`. After any element, `["any key"]` (or
  `?.["any key"]`) reads a key that is not an identifier. `$env` (Expr's name for the whole
  environment) is the whole event, so a first key that is not an identifier
  (`@version`, `user-agent`) or is a keyword (`in`, `matches`, ...) is read as
  `$env["@version"]`. Identifiers are `[A-Za-z_][A-Za-z0-9_]*`; a name such as `__class__`
  is just a key of the event.
- Functions (anything else is an error): `lower(x)`, `upper(x)`, `len(x)`, and the filter
  twins `ieq(x, v)`, `inCidr(x, "cidr" | [..])`, `changed("field")`,
  `changedFrom("field", v)`, `changedTo("field", v)`, `anyOf(path, "operator", value)`,
  `exists(x)`.

Semantics (the same path rule as field filters, rules.paths.values_at)
- A path stands for its candidates: every value at it, arrays flattened; none when missing.
  A literal is one candidate, an array literal's items are its candidates.
- A comparison is true when some pair of candidates satisfies it: `changes.field ==
  "suspended"` matches when any change names that field. Equality is Expr's: strings are
  case-sensitive (`ieq` ignores case as filters do), booleans never equal numbers, `1 == 1.0`.
  `p == nil` is true when no candidate is non-null (a missing key included); `p != nil`
  when one is. `!=`, `not in`, `not contains`, ... are the negation of their positive form,
  so a missing key makes them true.
- `< > <= >=` order numbers, or RFC 3339 date-times as instants; anything else is false.
- `lower`/`upper` map over candidates (non-strings unchanged). `len(x)` is the length of a
  single string candidate, otherwise the number of candidates (of an array literal: its items).
- `ieq`, `inCidr`, `changed*` and `anyOf` apply the registered filter operator exactly as a
  field filter does; `anyOf` takes any registered operator key and a literal value, both
  checked at compile time (negative operators make it the negation).
- A field under `!`, `&&` or `||` stands for `field == true`: true when some candidate is the
  boolean true. A missing, null or non-boolean value is a run-time error in Expr; here, as
  every failing test, it counts as false, so `!success` is true when `success` is missing,
  null or "yes" (as a negative filter is true for a missing key).
- The result must be boolean; a bare field, a string, a number or `len(x)` is rejected at
  compile time (as Expr compiled to expect a bool). At run time a compiled expression never
  raises: a comparison that fails counts as false.
"""

from __future__ import annotations

from rules.expression.compiler import expression_compile
from rules.expression.conversion import expression_to_filters, filters_to_expression
from rules.expression.syntax import MAX_DEPTH, MAX_LENGTH, MAX_NODES, ExpressionError

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "ExpressionError",
    "expression_compile",
    "expression_to_filters",
    "filters_to_expression",
]
