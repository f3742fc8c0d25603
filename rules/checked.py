"""Facts read from the binding's own type-checked AST — never from the expression text.

`cel_expr_python` serializes a compiled expression as a `cel.expr.CheckedExpr`
protobuf (wrapped in `google.protobuf.Any`). We decode only the protobuf *wire
format* (varints and length-delimited fields, a fixed 4-case encoding) to read the
expression tree, the reference map and the source offsets that the CEL checker
already produced. This is how the rule compiler learns, soundly:

- which declared variables an expression reads (bind only those per call);
- which channels it provably requires (pre-filter), from `&&`/`||` of
  `interaction.channel == "x"` / `interaction.channel in [...]`;
- whether it is the literal `true`, and structural identity of two expressions;
- the calendar names passed to `in_business_hours` and where.

Field numbers are those of cel/expr/checked.proto and syntax.proto (cel-spec).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

_Fields = dict[int, list[int | bytes]]


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes) -> _Fields:
    out: _Fields = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i : i + size], i + size
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _bytes(fields: _Fields, number: int) -> bytes | None:
    values = fields.get(number)
    if not values or not isinstance(values[0], bytes):
        return None
    return values[0]


def _text(fields: _Fields, number: int) -> str:
    raw = _bytes(fields, number)
    return raw.decode("utf-8") if raw is not None else ""


def _int(fields: _Fields, number: int) -> int:
    values = fields.get(number)
    return values[0] if values and isinstance(values[0], int) else 0


@dataclass(frozen=True, slots=True)
class Node:
    """One expression node: `const`, `ident`, `select`, `call`, `list`, or `other`."""

    id: int
    kind: str
    name: str = ""  # identifier, selected field, or function
    value: object = None  # constant value
    args: tuple[Node, ...] = ()  # call arguments or list elements
    target: Node | None = None  # receiver of a member call / operand of a select


def _constant(fields: _Fields) -> object:
    if 6 in fields:
        return _text(fields, 6)
    if 2 in fields:
        return bool(_int(fields, 2))
    if 3 in fields:
        raw = _int(fields, 3)
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if 4 in fields:
        return _int(fields, 4)
    if 5 in fields:
        packed = _bytes(fields, 5)
        return struct.unpack("<d", packed)[0] if packed is not None else None
    if 7 in fields:
        return _bytes(fields, 7)
    return None


def _node(buf: bytes) -> Node:
    fields = _fields(buf)
    node_id = _int(fields, 2)
    if (raw := _bytes(fields, 3)) is not None:
        return Node(node_id, "const", value=_constant(_fields(raw)))
    if (raw := _bytes(fields, 4)) is not None:
        return Node(node_id, "ident", name=_text(_fields(raw), 1))
    if (raw := _bytes(fields, 5)) is not None:
        select = _fields(raw)
        operand = _bytes(select, 1)
        return Node(node_id, "select", name=_text(select, 2),
                    target=_node(operand) if operand is not None else None)
    if (raw := _bytes(fields, 6)) is not None:
        call = _fields(raw)
        target = _bytes(call, 1)
        args = tuple(_node(a) for a in call.get(3, ()) if isinstance(a, bytes))
        return Node(node_id, "call", name=_text(call, 2), args=args,
                    target=_node(target) if target is not None else None)
    if (raw := _bytes(fields, 7)) is not None:
        items = tuple(_node(a) for a in _fields(raw).get(1, ()) if isinstance(a, bytes))
        return Node(node_id, "list", args=items)
    return Node(node_id, "other")


@dataclass(frozen=True, slots=True)
class CheckedAst:
    root: Node
    variables: frozenset[str]  # declared variables the expression reads
    functions: frozenset[str]  # overload-resolved function names
    offsets: dict[int, int]  # node id -> code-point offset in the source
    fingerprint: bytes  # the tree's encoding: equal for structurally equal expressions

    def walk(self) -> Iterator[Node]:
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.args)
            if node.target is not None:
                stack.append(node.target)


def read_checked(serialized: bytes) -> CheckedAst:
    """Decode `Expression.serialize()` output (Any{CheckedExpr})."""
    envelope = _fields(serialized)
    checked = _fields(_bytes(envelope, 2) or b"")
    expr = _bytes(checked, 4) or b""
    variables: set[str] = set()
    functions: set[str] = set()
    for entry in checked.get(2, ()):
        if not isinstance(entry, bytes):
            continue
        reference = _fields(_bytes(_fields(entry), 2) or b"")
        name = _text(reference, 1)
        (functions if 3 in reference else variables).add(name)
    offsets: dict[int, int] = {}
    info = _fields(_bytes(checked, 5) or b"")
    for entry in info.get(4, ()):
        if isinstance(entry, bytes):
            pair = _fields(entry)
            offsets[_int(pair, 1)] = _int(pair, 2)
    return CheckedAst(_node(expr), frozenset(variables), frozenset(functions), offsets, expr)


CHANNEL_VARIABLE = "interaction.channel"


def required_channels(node: Node) -> frozenset[str] | None:
    """Channels outside of which `node` can never be true; None when it could be for any.

    Sound by construction: `a && b` is false if either side is; `a || b` is false only
    if both are (an error on one side still yields no match).
    """
    if node.kind != "call":
        return None
    if node.name == "_&&_" and len(node.args) == 2:
        left, right = (required_channels(a) for a in node.args)
        if left is None or right is None:
            return left if right is None else right
        return left & right
    if node.name == "_||_" and len(node.args) == 2:
        left, right = (required_channels(a) for a in node.args)
        return None if left is None or right is None else left | right
    if node.name == "_==_" and len(node.args) == 2:
        a, b = node.args
        for var, lit in ((a, b), (b, a)):
            if _is_channel(var) and lit.kind == "const" and isinstance(lit.value, str):
                return frozenset({lit.value})
    if node.name == "@in" and len(node.args) == 2:
        var, items = node.args
        if _is_channel(var) and items.kind == "list" and all(
            i.kind == "const" and isinstance(i.value, str) for i in items.args
        ):
            return frozenset(str(i.value) for i in items.args)
    return None


def _is_channel(node: Node) -> bool:
    return node.kind == "ident" and node.name == CHANNEL_VARIABLE


def is_literal_true(node: Node) -> bool:
    return node.kind == "const" and node.value is True
