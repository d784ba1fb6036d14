"""Parse expression source into a small tree of `Node`s, with positions and size limits.

The grammar is LALR and the tree is built by an inline transformer while parsing, so
nothing here recurses over the input: a deeply nested source is refused by the depth
limit as soon as a node gets too deep, before any recursive pass sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

MAX_LENGTH = 4096
MAX_DEPTH = 64
MAX_NODES = 1000

# Words with a meaning of their own: a key spelled like one needs bracket access.
KEYWORDS = frozenset(
    {"and", "or", "not", "in", "contains", "startsWith", "endsWith", "matches", "true", "false", "nil"}
)

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr ((OR | PIPES) and_expr)*
?and_expr: comparison ((AND | AMPS) comparison)*
?comparison: unary
    | unary (EQ | NE | LT | GT | LE | GE) unary                            -> compare
    | unary NOT? (IN | CONTAINS | STARTSWITH | ENDSWITH | MATCHES) unary   -> compare
?unary: primary
    | (NOT | BANG) unary                                                   -> negation
?primary: literal
    | array
    | path
    | call
    | LPAR or_expr RPAR                                                    -> group

literal: STRING | RAW_STRING | NUMBER | MINUS NUMBER | TRUE | FALSE | NIL
array: LSQB [literal (COMMA literal)* COMMA?] RSQB
call: NAME LPAR [or_expr (COMMA or_expr)* COMMA?] RPAR
path: (NAME | ENV) accessor*
accessor: (DOT | QDOT) NAME
    | QDOT? LSQB (STRING | RAW_STRING) RSQB

OR: "or"
PIPES: "||"
AND: "and"
AMPS: "&&"
NOT: "not"
BANG: "!"
EQ: "=="
NE: "!="
LT: "<"
GT: ">"
LE: "<="
GE: ">="
IN: "in"
CONTAINS: "contains"
STARTSWITH: "startsWith"
ENDSWITH: "endsWith"
MATCHES: "matches"
TRUE: "true"
FALSE: "false"
NIL: "nil"
ENV: "$env"
LPAR: "("
RPAR: ")"
LSQB: "["
RSQB: "]"
COMMA: ","
DOT: "."
QDOT: "?."
MINUS: "-"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/
STRING: /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/
RAW_STRING: /`[^`]*`/
LINE_COMMENT: /\/\/[^\n]*/
BLOCK_COMMENT: /\/\*(.|\n)*?\*\//

%ignore /\s+/
%ignore LINE_COMMENT
%ignore BLOCK_COMMENT
"""


class ExpressionError(ValueError):
    """An expression that cannot be used, with the 1-based line and column of the problem."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass(slots=True, eq=False)
class Node:
    """One node of the tree.

    `kind` is literal, array, path, call, compare, not, and or or. `value` holds the literal's
    value, the path's segments, the function's name or the comparison's operator. `start` and
    `end` are offsets into the source, so messages can quote the node.
    """

    kind: str
    value: Any
    args: tuple[Node, ...]
    line: int
    column: int
    start: int
    end: int
    depth: int = 1
    size: int = 1

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(message, self.line, self.column)


def _node(kind: str, value: Any, args: tuple[Node, ...], first: Token | Node, last: Token | Node) -> Node:
    depth = 1 + max((arg.depth for arg in args), default=0)
    size = 1 + sum(arg.size for arg in args)
    end = last.end if isinstance(last, Node) else last.end_pos
    start = first.start if isinstance(first, Node) else first.start_pos
    node = Node(kind, value, args, first.line, first.column, start, end, depth, size)
    _check_limits(node)
    return node


def _check_limits(node: Node) -> None:
    if node.depth > MAX_DEPTH:
        raise node.error(f"the expression is nested more than {MAX_DEPTH} levels deep")
    if node.size > MAX_NODES:
        raise node.error(f"the expression has more than {MAX_NODES} parts; split the rule")


_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "?": "?",
    "/": "/",
}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _unescape(token: Token) -> str:
    """The value of a string literal token. `\\uXXXX` is one code point (no surrogate pairing)."""
    raw = token.value
    body = raw[1:-1]
    if raw[0] == "`" or "\\" not in body:
        return body
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escape = body[index + 1]  # the token's pattern guarantees a character after a backslash
        column = token.column + 1 + index
        if escape in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[escape])
            index += 2
        elif escape in "xXuU":
            width = {"x": 2, "X": 2, "u": 4, "U": 8}[escape]
            digits = body[index + 2 : index + 2 + width]
            if len(digits) != width or not set(digits) <= _HEX_DIGITS:
                raise ExpressionError(f"\\{escape} needs {width} hex digits", token.line, column)
            code = int(digits, 16)
            if code > 0x10FFFF:
                raise ExpressionError(f"\\{escape}{digits} is not a Unicode code point", token.line, column)
            out.append(chr(code))
            index += 2 + width
        elif escape in "0123":
            digits = body[index + 1 : index + 4]
            if len(digits) != 3 or not all("0" <= digit <= "7" for digit in digits):
                raise ExpressionError("an octal escape needs three digits, e.g. \\012", token.line, column)
            out.append(chr(int(digits, 8)))
            index += 4
        else:
            raise ExpressionError(f"unknown escape \\{escape} in a string", token.line, column)
    return "".join(out)


def _number(token: Token) -> int | float:
    text = token.value
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


class _Builder(Transformer[Token, Node]):
    """Build `Node`s bottom-up while the LALR parser reduces (no recursion over the input)."""

    def literal(self, children: list[Token]) -> Node:
        token = children[-1]
        kind = token.type
        value: Any
        if kind in ("STRING", "RAW_STRING"):
            value = _unescape(token)
        elif kind == "NUMBER":
            value = _number(token)
            if len(children) == 2:
                value = -value
        else:
            value = {"TRUE": True, "FALSE": False, "NIL": None}[kind]
        return _node("literal", value, (), children[0], token)

    def array(self, children: list[Any]) -> Node:
        items = tuple(child for child in children if isinstance(child, Node))
        return _node("array", None, items, children[0], children[-1])

    def call(self, children: list[Any]) -> Node:
        args = tuple(child for child in children if isinstance(child, Node))
        return _node("call", children[0].value, args, children[0], children[-1])

    def accessor(self, children: list[Token]) -> tuple[str, Token]:
        token = children[-1]
        if token.type == "RSQB":
            return _unescape(children[-2]), token
        return token.value, token

    def path(self, children: list[Any]) -> Node:
        head: Token = children[0]
        segments = [] if head.type == "ENV" else [head.value]
        segments.extend(segment for segment, _ in children[1:])
        last: Token = children[-1][1] if len(children) > 1 else head
        return _node("path", tuple(segments), (), head, last)

    def group(self, children: list[Any]) -> Node:
        inner: Node = children[1]
        # Parentheses make no node, but they count towards the depth limit.
        inner.depth += 1
        _check_limits(inner)
        return inner

    def negation(self, children: list[Any]) -> Node:
        return _node("not", children[0].value, (children[1],), children[0], children[1])

    def compare(self, children: list[Any]) -> Node:
        left, right = children[0], children[-1]
        operator = " ".join(token.value for token in children[1:-1])
        return _node("compare", operator, (left, right), left, right)

    def _chain(self, kind: str, children: list[Any]) -> Node:
        operands = tuple(child for child in children if isinstance(child, Node))
        return _node(kind, None, operands, operands[0], operands[-1])

    def and_expr(self, children: list[Any]) -> Node:
        return self._chain("and", children)

    def or_expr(self, children: list[Any]) -> Node:
        return self._chain("or", children)


_PARSER = Lark(GRAMMAR, parser="lalr", lexer="basic", transformer=_Builder(), maybe_placeholders=True)

_VALUE_START = frozenset(
    {"NAME", "ENV", "STRING", "RAW_STRING", "NUMBER", "MINUS", "TRUE", "FALSE", "NIL", "LSQB", "LPAR", "NOT", "BANG"}
)
_COMPARISONS = frozenset({"EQ", "NE", "LT", "GT", "LE", "GE", "IN", "CONTAINS", "STARTSWITH", "ENDSWITH", "MATCHES"})
_PUNCTUATION = {"RPAR": "')'", "RSQB": "']'", "COMMA": "','"}


def position(source: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of `offset` in `source`."""
    line = source.count("\n", 0, offset) + 1
    return line, offset - source.rfind("\n", 0, offset)


def _expected(names: set[str]) -> str:
    parts = []
    if "NAME" in names:
        parts.append("a value")
    elif "NUMBER" in names:
        parts.append("a literal (string, number, true, false or nil)")
    elif names & {"STRING", "RAW_STRING"}:
        parts.append("a string")
    if names & _COMPARISONS:
        parts.append("an operator such as == or contains")
    if names & {"AND", "AMPS", "OR", "PIPES"}:
        parts.append("&& or ||")
    parts.extend(text for name, text in _PUNCTUATION.items() if name in names)
    if "$END" in names:
        parts.append("the end of the expression")
    if not parts:
        return "something else"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _acceptable(source: str, bad: Token) -> set[str]:
    """The tokens that could come where `bad` is.

    The parser state at the error is unreliable: LALR lookaheads are merged, so the parser may
    have reduced before noticing. Replay the tokens before `bad` and ask the fresh state.
    """
    try:
        interactive = _PARSER.parse_interactive(source)
        for token in _PARSER.lex(source):
            if bad.type != "$END" and token.start_pos >= bad.start_pos:
                break
            interactive.feed_token(token)
        return set(interactive.accepts())
    except Exception:  # noqa: BLE001 - only a nicer message is at stake
        return set()


def _syntax_error(source: str, exc: UnexpectedInput) -> ExpressionError:
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        expected = _expected(_acceptable(source, token) or set(exc.expected))
        if token.type == "$END":
            line, column = position(source, len(source.rstrip()))
            return ExpressionError(f"expected {expected}, got the end of the expression", line, column)
        if token.type == "MINUS":
            return ExpressionError("arithmetic is not supported", token.line, token.column)
        return ExpressionError(f"expected {expected}, got {token.value!r}", token.line, token.column)
    assert isinstance(exc, UnexpectedCharacters)
    char = source[exc.pos_in_stream]
    line, column = exc.line, exc.column
    if char in "\"'":
        return ExpressionError(f"unterminated string: no closing {char} on this line", line, column)
    if char == "`":
        return ExpressionError("unterminated raw string: no closing `", line, column)
    if char in "+*/%^":
        return ExpressionError("arithmetic is not supported", line, column)
    if char in "&|":
        return ExpressionError(f"use {char * 2} (or {'and' if char == '&' else 'or'})", line, column)
    if char == "=":
        return ExpressionError("use == to compare", line, column)
    return ExpressionError(f"unexpected character {char!r}", line, column)


def parse(source: str) -> Node:
    """Parse `source` into a tree, or raise `ExpressionError` saying where and why not."""
    if not isinstance(source, str):
        raise ExpressionError("an expression must be a string")
    if len(source) > MAX_LENGTH:
        line, column = position(source, MAX_LENGTH)
        raise ExpressionError(f"an expression is at most {MAX_LENGTH:,} characters; got {len(source):,}", line, column)
    if not source.strip():
        raise ExpressionError("the expression is empty", 1, 1)
    try:
        return _PARSER.parse(source)
    except UnexpectedInput as exc:
        raise _syntax_error(source, exc) from None
