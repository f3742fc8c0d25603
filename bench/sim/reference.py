"""An independent FIFO multi-server model: the yardstick for the engine in M/M/N runs.

With N identical servers and first-come-first-served order, customer k starts at
max(arrival_k, earliest time a server frees up). Fed the very same arrivals and
handle times as a simulation, it must give the very same waits — which separates
"the engine routes correctly" from "the sample happened to be unlucky" when a
simulated figure differs from Erlang C.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from bench.sim.traffic import Arrival


def fifo_waits(arrivals: Sequence[Arrival], servers: int, since: float = float("-inf"),
               until: float = float("inf")) -> list[float]:
    """Waits of the arrivals at or after `since` whose service starts by `until`."""
    free = [float("-inf")] * servers
    waits = []
    for arrival in arrivals:
        start = max(heapq.heappop(free), arrival.at)
        heapq.heappush(free, start + arrival.handle)
        if arrival.at >= since and start <= until:
            waits.append(start - arrival.at)
    return waits
