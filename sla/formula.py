"""Which interactions a service-level figure is computed over.

Contact centers disagree on what goes in the denominator, so it is a setting:

- `abandons_after_short` (default): answered within T / (answered + abandoned after the
  short-abandon threshold + expired). A caller who hangs up in 2 s is not a customer
  we failed; one who hung up after 3 minutes is.
- `all_offered`: answered within T / everything offered (every abandon counts).
- `answered_only`: answered within T / answered (abandons are ignored entirely).

Interactions expired by max wait count like long abandons in the first two: the
customer was not answered, and an expiry must never improve the figure.
"""

from __future__ import annotations

from enum import StrEnum


class SlFormula(StrEnum):
    ABANDONS_AFTER_SHORT = "abandons_after_short"
    ALL_OFFERED = "all_offered"
    ANSWERED_ONLY = "answered_only"
