"""Operations: Prometheus scrape, liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from router.api.deps import RuntimeDep
from router.api.problems import problem, problem_responses
from router.metrics import render

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, summary="Prometheus text exposition",
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(runtime: RuntimeDep) -> Response:
    # Unauthenticated like most scrape targets: it exposes no ids, only bounded labels.
    return Response(render(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: store reachable, rules compiled, service running",
            responses={503: {**problem_responses(503)[503],
                             "description": "Not ready: a problem whose `checks` say what"
                                            " failed"}})
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.readiness()
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        return problem(503, "not-ready", "Not ready", f"not ready: {', '.join(failed)}",
                       "/readyz", checks=checks)
    return JSONResponse({"status": "ready", "checks": checks})
