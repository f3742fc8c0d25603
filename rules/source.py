"""Reading a ruleset file and remembering where every value sits in it.

The YAML is composed once into its node graph so each value (and each `when`
expression) has a file position. A CEL error reports a line/column inside the
expression; `SourceMap.expression_position` maps it to the file by walking the raw
scalar text and the expression side by side, counting non-blank characters — YAML
folding and block indentation only ever change whitespace, so the n-th non-blank
character of the expression is the n-th of the raw scalar. (Quoted scalars with
escape sequences can shift the column by the escape's length; positions stay on the
right line.) JSON is read by the same YAML loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rules.errors import Problem, ProblemKind, RulesetInvalid
from rules.model import RulesetSpec

PathKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Positions (1-based) of every value of one ruleset text, keyed by its path."""

    name: str
    text: str
    nodes: Mapping[PathKey, yaml.Node]

    def position(self, path: PathKey) -> tuple[int, int] | None:
        """The value at `path`, or the closest enclosing value that exists."""
        for cut in range(len(path), -1, -1):
            node = self.nodes.get(path[:cut])
            if node is not None:
                return node.start_mark.line + 1, node.start_mark.column + 1
        return None

    def expression_position(self, path: PathKey, line: int, column: int) -> tuple[int, int]:
        """File position of `line:column` (1-based) inside the expression at `path`."""
        node = self.nodes.get(path)
        if not isinstance(node, yaml.ScalarNode):
            return line, column
        expression = str(node.value)
        offset = _offset(expression, line, column)
        start = node.start_mark.index
        raw = self.text[start:node.end_mark.index]
        if node.style in ("|", ">"):
            skip = raw.find("\n") + 1  # the block header line (`|`, `>-`, …)
        elif node.style in ('"', "'"):
            skip = 1
        else:
            skip = 0
        return self._at(start + skip + _raw_offset(expression, offset, raw[skip:]))

    def _at(self, index: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, index) + 1
        column = index - (self.text.rfind("\n", 0, index) + 1) + 1
        return line, column


def _offset(expression: str, line: int, column: int) -> int:
    lines = expression.split("\n")
    before = sum(len(text) + 1 for text in lines[: max(0, line - 1)])
    return min(len(expression), before + max(0, column - 1))


def _raw_offset(expression: str, offset: int, raw: str) -> int:
    """Index in `raw` of the character at `offset` of `expression` (see module doc)."""
    wanted = sum(1 for ch in expression[:offset] if not ch.isspace())
    on_blank = offset >= len(expression) or expression[offset].isspace()
    # How far past the last non-blank character the expression position lies.
    last = max((i for i in range(offset) if not expression[i].isspace()), default=-1)
    trailing = offset - last - 1
    seen = 0
    for index, ch in enumerate(raw):
        if ch.isspace():
            continue
        if seen == wanted and not on_blank:
            return index
        seen += 1
        if seen == wanted and on_blank:
            return index + 1 + trailing
    return len(raw) if on_blank else 0


def _index(node: yaml.Node, path: PathKey, out: dict[PathKey, yaml.Node]) -> None:
    out[path] = node
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _index(value, (*path, str(key.value)), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), out)


@dataclass(frozen=True, slots=True)
class LoadedRuleset:
    spec: RulesetSpec
    source: SourceMap | None


def parse_ruleset(text: str, name: str = "<ruleset>") -> LoadedRuleset:
    """Validate a YAML/JSON ruleset text; raises RulesetInvalid with file positions."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesetInvalid(
            [Problem(ProblemKind.SYNTAX, f"YAML syntax error: {problem}",
                     line=line, column=column)],
            name,
        ) from None
    nodes: dict[PathKey, yaml.Node] = {}
    if root is not None:
        _index(root, (), nodes)
    source = SourceMap(name, text, nodes)
    return LoadedRuleset(spec_from_data(data, name, source), source)


def load_ruleset(path: str | Path) -> LoadedRuleset:
    """Read and validate a ruleset file (YAML or JSON); raises RulesetInvalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesetInvalid([Problem(ProblemKind.SYNTAX, str(exc))], str(path)) from None
    return parse_ruleset(text, str(path))


def spec_from_data(
    data: Any, name: str = "<ruleset>", source: SourceMap | None = None
) -> RulesetSpec:
    """Validate already-parsed data (e.g. an API body); problems name rule, field, position."""
    if not isinstance(data, dict):
        raise RulesetInvalid(
            [Problem(ProblemKind.SCHEMA,
                     f"a ruleset must be a mapping, got {type(data).__name__}")],
            name,
        )
    try:
        return RulesetSpec.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, data, source) for err in exc.errors()]
        raise RulesetInvalid(problems, name) from None


def _problem(err: Any, data: dict[str, Any], source: SourceMap | None) -> Problem:
    loc: PathKey = tuple(err["loc"])
    rule = None
    field_path = loc
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            rule = str(rules[loc[1]].get("name", f"#{loc[1] + 1}"))
        field_path = loc[2:]
    elif loc[:1] == ("default",):
        rule = "default"
        field_path = loc[1:]
    found = source.position(loc) if source is not None else None
    line, column = found if found is not None else (None, None)
    value = err.get("input")
    shown = None if isinstance(value, dict | list) or err["type"] == "missing" else repr(value)
    field = ".".join(str(p) for p in field_path) or None
    if loc == ("default",) and err["type"] == "missing":
        return Problem(ProblemKind.MISSING_DEFAULT,
                       "the ruleset has no 'default' (the plan when no rule matches)",
                       line=line, column=column)
    message = str(err["msg"]).removeprefix("Value error, ")
    if shown is not None:
        message += f" (got {shown})"
    return Problem(ProblemKind.SCHEMA, message, rule=rule, field=field, value=shown,
                   line=line, column=column)
