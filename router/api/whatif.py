"""What-if: `POST /rules/what-if` predicts service levels under a draft ruleset.

The simulator (`bench.sim.whatif.compare_rulesets`) runs the same generated traffic
through the real routing core twice — classified by the published ruleset and by the
draft — and answers predicted SL/ASA per team × channel for both. `bench/` is not in the
installed package (it must stay out of the product's import path), so it is imported
lazily here; a server installed without a source checkout answers 501 saying so.

The simulation is CPU work: it runs in a worker thread (one at a time, so two requests
cannot take both cores), capped at `TIME_CAP` seconds of wall time; past the cap the
request answers 504 and the thread is abandoned (it ends by itself, the run is short).
The scenario is the example contact center (`config/` of the checkout), not live state.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from router.api.deps import Reader, RuntimeDep
from router.api.problems import problem, problem_responses
from rules import NothingPublished, RulesetSpec, parse_ruleset, spec_from_data

router = APIRouter(prefix="/rules", tags=["rules"])

#: Wall-clock cap on one comparison (a simulated day takes about a second of CPU).
TIME_CAP = 20.0
_ONE_AT_A_TIME = anyio.CapacityLimiter(1)


class WhatIfIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"use_draft": True, "hours": 1, "seed": 7},
        {"ruleset": "default:\n  queue: general\n  priority: 1\n", "hours": 1},
    ]})

    ruleset: str | dict[str, Any] | None = Field(
        default=None, description="The draft ruleset: YAML/JSON text, or a JSON object")
    use_draft: bool = Field(default=False, description="Compare the saved draft instead")
    hours: int = Field(default=4, ge=1, le=24, description="Simulated hours (from 08:00)")
    seed: int = Field(default=7, ge=0, le=2**31 - 1, description="Traffic seed")

    @model_validator(mode="after")
    def _one_source(self) -> WhatIfIn:
        if (self.ruleset is None) == (not self.use_draft):
            raise ValueError("give exactly one of `ruleset` (the draft text) or"
                             " `use_draft: true`")
        return self


def _simulator() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module("bench.sim.whatif")
    except ImportError:
        return None
    compare: Callable[..., Any] = module.compare_rulesets
    return compare


def _draft_spec(body: WhatIfIn, request: Request) -> RulesetSpec:
    runtime = request.app.state.runtime
    if body.use_draft:
        spec: RulesetSpec = runtime.rules.repository.draft().ruleset
        return spec
    if isinstance(body.ruleset, dict):
        return spec_from_data(body.ruleset, "<what-if ruleset>")
    return parse_ruleset(str(body.ruleset), "<what-if ruleset>").spec


def _figures(figures: Any) -> dict[str, Any] | None:
    if figures is None:
        return None
    return {"offered": figures.offered, "answered": figures.answered,
            "abandoned": figures.abandoned, "service_level": figures.service_level,
            "asa": figures.asa, "abandon_rate": figures.abandon_rate}


def comparison_json(comparison: Any, published_version: int, source: str) -> dict[str, Any]:
    return {
        "scenario": comparison.scenario, "seed": comparison.seed, "hours": comparison.hours,
        "arrivals": comparison.arrivals, "published_version": published_version,
        "draft_source": source,
        "rows": [{
            "team": row.team, "channel": row.channel.value, "threshold": row.threshold,
            "target": row.target, "published": _figures(row.published),
            "draft": _figures(row.draft), "service_level_delta": row.service_level_delta,
        } for row in comparison.rows],
    }


@router.post("/what-if", response_model=None,
             responses=problem_responses(401, 403, 404, 409, 422, 501, 504),
             summary="Predict SL per team × channel: a draft ruleset against the published")
async def what_if(body: WhatIfIn, request: Request, runtime: RuntimeDep,
                  _: Reader) -> Any:
    compare = _simulator()
    if compare is None:
        return problem(501, "simulator-unavailable", "Simulator unavailable",
                       "the what-if simulator (bench.sim) is not installed: it ships with"
                       " the source checkout only; run the server from a checkout",
                       request.url.path)
    current = runtime.rules.repository.current()
    if current is None:
        raise NothingPublished()
    draft = _draft_spec(body, request)  # RulesetInvalid/NoDraft answer 422/404
    published = current.ruleset

    def run() -> Any:
        return compare(draft, published, seed=body.seed, hours=float(body.hours))

    try:
        with anyio.fail_after(TIME_CAP):
            comparison = await anyio.to_thread.run_sync(
                run, abandon_on_cancel=True, limiter=_ONE_AT_A_TIME)
    except TimeoutError:
        return problem(504, "simulation-timeout", "Simulation took too long",
                       f"the comparison did not finish within {TIME_CAP:.0f} s; try fewer"
                       " hours", request.url.path)
    source = "draft" if body.use_draft else "body"
    return JSONResponse(comparison_json(comparison, current.number, source))
