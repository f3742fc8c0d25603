"""The one place that knows which CEL binding we use; the rest of rules/ sees this API.

Binding choice — `cel-expr-python` (Google's cel-cpp wrapped, cel-expr org), over
`common-expression-language` (Rust `cel-interpreter` via PyO3):

(a) type checking: cel-expr-python compiles against declared variable types
    (`customer.tier: string`), so an unknown field, `customer.tier == 1` or a
    non-bool `when` fail at save time with line:column. The Rust binding has no
    checker at all (`customer.tier == 1` compiles and silently evaluates to false);
    it only lists top-level identifiers, not fields, so we could not even add our own.
(b) speed: Rust evaluates a reused context in ~0.5 µs but building a context from
    nested dicts costs ~40 µs per call; cel-cpp costs ~2 µs per expression plus
    ~0.3 µs per bound variable, and we bind only the variables a ruleset reads.
(c) custom functions: both; cel-cpp's are declared (typed) so calls type-check too.
It also serializes the checked AST, which `rules.checked` reads for pre-filtering.

Dotted variables (`customer.tier`) are declared as flat names, which CEL's name
resolution maps `customer.tier` onto; the checker then rejects `customer.nope`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cel_expr_python import cel as _cel

from rules.checked import CheckedAst, read_checked


class CelType(StrEnum):
    STRING = "string"
    INT = "int"
    DOUBLE = "double"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    STRING_LIST = "list(string)"
    DYN_MAP = "map(string, dyn)"


def _binding_type(kind: CelType) -> Any:
    t = _cel.Type
    return {
        CelType.STRING: t.STRING, CelType.INT: t.INT, CelType.DOUBLE: t.DOUBLE,
        CelType.BOOL: t.BOOL, CelType.TIMESTAMP: t.TIMESTAMP,
        CelType.STRING_LIST: t.List(t.STRING), CelType.DYN_MAP: t.Map(t.STRING, t.DYN),
    }[kind]


@dataclass(frozen=True, slots=True)
class CelFunction:
    """A global function `name(params...) -> result` implemented in Python."""

    name: str
    params: tuple[CelType, ...]
    result: CelType
    impl: Callable[..., Any]


class DiagnosticKind(StrEnum):
    SYNTAX = "syntax"
    UNDECLARED = "undeclared"
    NO_OVERLOAD = "no_overload"
    RESULT_TYPE = "result_type"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One compile-time error, positioned 1-based inside the expression."""

    kind: DiagnosticKind
    message: str
    line: int
    column: int
    name: str | None = None  # the undeclared identifier, for UNDECLARED


class CompileFailed(Exception):
    """Internal to rules/: the compiler turns it into positioned `Problem`s."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics))


_ERROR_LINE = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")
_UNDECLARED = re.compile(r"undeclared reference to '([^']+)'")


def _diagnostics(text: str) -> list[Diagnostic]:
    """Split the binding's error text (`ERROR: <input>:L:C: msg` lines) into records."""
    found = []
    for match in _ERROR_LINE.finditer(text):
        line, column, message = int(match[1]), int(match[2]), match[3].strip()
        message = message.removesuffix("[INVALID_ARGUMENT]").strip()
        name = None
        if message.startswith("Syntax error:"):
            kind = DiagnosticKind.SYNTAX
            message = message.removeprefix("Syntax error:").strip()
        elif (undeclared := _UNDECLARED.search(message)) is not None:
            kind, name = DiagnosticKind.UNDECLARED, undeclared[1]
            message = f"unknown field or variable {name!r}"
        elif "no matching overload" in message:
            kind = DiagnosticKind.NO_OVERLOAD
        else:
            kind = DiagnosticKind.OTHER
        found.append(Diagnostic(kind, message, line, column, name))
    return found or [Diagnostic(DiagnosticKind.OTHER, text.strip(), 1, 1)]


_ERROR = _cel.Type.ERROR


class Activation:
    """Variable values for one evaluation, shareable by many expressions."""

    __slots__ = ("_native",)

    def __init__(self, native: Any) -> None:
        self._native = native


@dataclass(frozen=True, slots=True)
class EvalError:
    """An evaluation that produced a CEL error (missing key, bad index…), not a value."""

    message: str


class Expression:
    """A compiled, type-checked expression; evaluation never raises."""

    __slots__ = ("_native", "ast", "result_type", "source")

    def __init__(self, source: str, native: Any, result_type: str, ast: CheckedAst) -> None:
        self.source = source
        self._native = native
        self.result_type = result_type
        self.ast = ast

    def evaluate(self, activation: Activation) -> Any:
        """The value, or an `EvalError` (CEL errors are values, not exceptions)."""
        try:
            result = self._native.eval(activation._native)
        except Exception as exc:  # the binding raises for some host-side failures
            return EvalError(str(exc))
        return self._unwrap(result)

    def evaluate_values(self, values: Mapping[str, Any]) -> Any:
        """Like `evaluate` with the variables given directly: cheaper for one evaluation."""
        try:
            result = self._native.eval(data=values)
        except Exception as exc:
            return EvalError(str(exc))
        return self._unwrap(result)

    @staticmethod
    def _unwrap(result: Any) -> Any:
        value = result.value()
        if value is True or value is False:  # the hot path: a bool `when`
            return value
        if result.type() == _ERROR:  # an error's value is its message (a str)
            return EvalError(str(value))
        return value


class Environment:
    """Declared variables and functions; compiles expressions against them."""

    def __init__(
        self, variables: Mapping[str, CelType], functions: Sequence[CelFunction] = ()
    ) -> None:
        self.variables = dict(variables)
        declarations = [
            _cel.FunctionDecl(f.name, [_cel.Overload(
                f"{f.name}_{'_'.join(p.value for p in f.params)}",
                return_type=_binding_type(f.result),
                parameters=[_binding_type(p) for p in f.params],
                impl=f.impl,
            )])
            for f in functions
        ]
        self._env = _cel.NewEnv(
            variables={name: _binding_type(kind) for name, kind in variables.items()},
            functions=declarations,
        )

    def compile(self, source: str, expect: CelType | None = None) -> Expression:
        """Parse and type-check `source`; raises CompileFailed with positioned diagnostics."""
        try:
            native = self._env.compile(source)
        except RuntimeError as exc:
            raise CompileFailed(_diagnostics(str(exc))) from None
        result = native.return_type().name().lower()
        if expect is not None and result not in (expect.value, "dyn"):
            raise CompileFailed([Diagnostic(
                DiagnosticKind.RESULT_TYPE,
                f"expression must be of type {expect.value}, but is {result}", 1, 1,
            )])
        return Expression(source, native, result, read_checked(native.serialize()))

    def activation(self, values: Mapping[str, Any]) -> Activation:
        return Activation(self._env.Activation(values))
