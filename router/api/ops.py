"""Operations: Prometheus scrape, liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from router.api.deps import RuntimeDep
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
            responses={503: {"description": "Not ready; `checks` says what failed"}})
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.readiness()
    ready = all(checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)
