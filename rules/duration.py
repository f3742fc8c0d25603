"""Durations as supervisors write them: `30s`, `2m`, `1h`, `1h30m`, `250ms`, or seconds.

Stored as float seconds; written back in the same compact form so the canonical YAML
of a ruleset reads like what was typed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: Any) -> float:
    """Seconds from `30s` / `2m` / `1h30m` / a plain number; raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"duration must be like 30s, 2m or 1h, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _WHOLE.match(value.strip()):
        seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(value.strip()))
    else:
        raise ValueError(f"duration must be like 30s, 2m or 1h, got {value!r}")
    if seconds < 0:
        raise ValueError(f"duration must not be negative, got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The compact form: 90 -> `1m30s`, 3600 -> `1h`, 0.25 -> `250ms`."""
    if seconds == 0:
        return "0s"
    millis = round(seconds * 1000)
    if millis % 1000:
        return f"{millis}ms"
    whole = millis // 1000
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts)


#: A pydantic field type: accepts the forms above, holds seconds, dumps the compact form.
Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
