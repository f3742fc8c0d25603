"""Rule management: read, validate, dry-run, publish with optimistic concurrency, roll back.

A ruleset body is YAML (`application/yaml`, the format supervisors edit; positions in
errors are file lines/columns) or JSON (`application/json`). Publishing and rolling
back need `If-Match` naming the version the edit started from (the `ETag` of
`GET /rules`); a stale one answers 412, a missing one 428.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from router.api.deps import Reader, RuntimeDep, Supervisor
from router.api.problems import problem_json, problem_responses
from router.api.schemas import customer_out, explain_json
from router.interaction_in import InteractionIn
from router.runtime import normalized_inbound
from rules import (
    LoadedRuleset,
    RulesetInvalid,
    RulesetSpec,
    RulesetVersion,
    diff_versions,
    parse_ruleset,
    spec_from_data,
)

router = APIRouter(prefix="/rules", tags=["rules"])

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")
_RULESET_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    # Free text to the schema: the rules compiler validates it, with line/column.
    "application/yaml": {"schema": {"description": "A ruleset document (YAML)"}, "example":
                         "rules:\n  - name: vip\n    when: customer.tier == \"gold\"\n"
                         "    then: {queue: vip, priority: 7}\ndefault:\n"
                         "  queue: general\n"},
    "application/json": {"schema": {"type": "object"}},
}}}
_ETAG = re.compile(r'^(?:W/)?"?v?(\d+)"?$')


def etag(number: int) -> str:
    return f'"{number}"'


def version_json(v: RulesetVersion, with_yaml: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": v.number, "author": v.author, "published_at": v.published_at,
        "comment": v.comment, "rolled_back_from": v.rolled_back_from,
        "rules": [r.name for r in v.ruleset.rules],
    }
    if with_yaml:
        out["yaml"] = v.canonical_yaml
    return out


async def read_ruleset(request: Request) -> LoadedRuleset:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "ruleset body is not UTF-8") from None
    if content_type == "application/json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"invalid JSON at line {exc.lineno} column {exc.colno}:"
                                     f" {exc.msg}") from None
        if not isinstance(data, dict):
            raise RequestValidationError([{
                "type": "dict_type", "loc": ("body",), "input": data,
                "msg": f"a ruleset is a JSON object, got {type(data).__name__}"}])
        return LoadedRuleset(spec_from_data(data, "<request body>"), None)
    if content_type in _YAML_TYPES:
        return parse_ruleset(text, "<request body>")
    raise HTTPException(415, f"content-type {content_type or '(none)'!r} is not accepted;"
                             " send application/yaml or application/json")


def base_version(if_match: str | None) -> int:
    if if_match is None:
        raise HTTPException(428, "If-Match is required: send the ETag of GET /rules"
                                 " (the version your edit is based on)")
    found = _ETAG.match(if_match.strip())
    if found is None:
        raise HTTPException(400, f"If-Match {if_match!r} is not a ruleset version ETag"
                                 ' (expected e.g. "3")')
    return int(found.group(1))


IfMatch = Annotated[str | None, Header(alias="If-Match", description='ETag, e.g. "3"',
                                       pattern=r'^(?:W/)?"?v?[0-9]{1,9}"?$',
                                       examples=['"1"'])]


@router.get("", responses=problem_responses(401, 403, 409), summary="The published ruleset")
async def published(runtime: RuntimeDep, _: Reader, response: Response) -> dict[str, Any]:
    current = runtime.rules.repository.current()
    if current is None:
        raise HTTPException(404, "no ruleset has been published yet")
    response.headers["ETag"] = etag(current.number)
    return version_json(current)


@router.get("/draft", responses=problem_responses(401, 403, 404), summary="The saved draft")
async def draft(runtime: RuntimeDep, _: Supervisor) -> dict[str, Any]:
    saved = runtime.rules.repository.draft()
    return {"author": saved.author, "saved_at": saved.saved_at,
            "base_version": saved.base_version, "yaml": saved.ruleset.canonical_yaml()}


@router.put("/draft", responses=problem_responses(400, 401, 403, 415, 422),
            openapi_extra=_RULESET_BODY, summary="Save a draft (validated, not published)")
async def save_draft(request: Request, runtime: RuntimeDep, who: Supervisor) -> dict[str, Any]:
    loaded = await read_ruleset(request)
    report = runtime.rules.validate(loaded.spec, loaded.source)
    saved = runtime.rules.repository.save_draft(loaded.spec, author=who.name)
    return {"author": saved.author, "saved_at": saved.saved_at,
            "base_version": saved.base_version, "ok": report.ok,
            "errors": [problem_json(p) for p in report.errors],
            "warnings": [problem_json(p) for p in report.warnings]}


@router.post("/validate", responses=problem_responses(400, 401, 403, 415),
             openapi_extra=_RULESET_BODY,
             summary="Validate a ruleset: every error and warning with rule, field, position")
async def validate(request: Request, runtime: RuntimeDep, _: Reader) -> dict[str, Any]:
    try:
        loaded = await read_ruleset(request)
    except RulesetInvalid as exc:  # a syntax/schema failure is a finding here, not an error
        return {"ok": False, "errors": [problem_json(p) for p in exc.problems], "warnings": []}
    report = runtime.rules.validate(loaded.spec, loaded.source)
    return {"ok": report.ok, "errors": [problem_json(p) for p in report.errors],
            "warnings": [problem_json(p) for p in report.warnings]}


class CustomerOverrides(BaseModel):
    """Try a classification as if the customer's profile said this (nothing is stored)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    tier: Literal["standard", "gold", "platinum"] | None = None
    lifetime_value: float | None = Field(default=None, ge=0, le=1e12)
    language: str | None = Field(default=None, min_length=2, max_length=16)
    segment: str | None = Field(default=None, min_length=1, max_length=64)


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{
        "interaction": {"channel": "social", "idempotency_key": "t-1", "public": True,
                        "address": "x:1402938475", "summary": "Still no refund!"},
    }]})

    interaction: InteractionIn
    version: int | None = Field(default=None, ge=1, description="A stored version")
    draft: bool = Field(default=False, description="Use the saved draft")
    ruleset: dict[str, Any] | None = Field(default=None, description="An ad-hoc ruleset")
    customer: CustomerOverrides | None = Field(
        default=None, description="Override the customer profile's tier, value, language or"
        " segment for this dry-run")


@router.post("/dry-run", responses=problem_responses(401, 403, 404, 422),
             summary="Explain how an interaction would be classified (nothing is routed)")
async def dry_run(body: DryRunIn, runtime: RuntimeDep, _: Reader) -> dict[str, Any]:
    data = body.interaction
    now = runtime.clock()
    item = normalized_inbound(data, now, runtime.settings.default_region)
    customer = data.customer_id or runtime.identity.resolve(
        item.addresses, fallback=data.idempotency_key).customer_id
    ruleset: RulesetSpec | None = None
    if body.ruleset is not None:
        ruleset = spec_from_data(body.ruleset, "<request ruleset>")
    profile = runtime.profile(customer)
    overrides = body.customer.model_dump(exclude_none=True) if body.customer else {}
    if overrides:
        profile = replace(profile, **overrides)
    result = runtime.rules.dry_run(item.interaction, profile, now,
                                   version=body.version, draft=body.draft, ruleset=ruleset)
    return {"customer_id": customer, "customer": customer_out(profile).model_dump(),
            "customer_overrides": overrides, **explain_json(result)}


@router.post("/publish", status_code=201,
             responses=problem_responses(400, 401, 403, 412, 415, 422, 428),
             openapi_extra=_RULESET_BODY,
             summary="Publish a new version (If-Match: the version it was edited from)")
async def publish(
    request: Request, runtime: RuntimeDep, who: Supervisor, response: Response,
    if_match: IfMatch = None,
    comment: Annotated[str, Query(max_length=500)] = "",
) -> dict[str, Any]:
    base = base_version(if_match)
    loaded = await read_ruleset(request)
    result = await runtime.publish_rules(loaded.spec, base_version=base, author=who.name,
                                         comment=comment, source=loaded.source)
    response.headers["ETag"] = etag(result.version.number)
    return {**version_json(result.version),
            "warnings": [problem_json(p) for p in result.warnings]}


@router.get("/versions", responses=problem_responses(401, 403), summary="Version history")
async def versions(runtime: RuntimeDep, _: Reader) -> list[dict[str, Any]]:
    return [version_json(v, with_yaml=False) for v in runtime.rules.repository.versions()]


@router.get("/versions/{number}", responses=problem_responses(401, 403, 404),
            summary="One stored version")
async def version(number: int, runtime: RuntimeDep, _: Reader) -> dict[str, Any]:
    return version_json(runtime.rules.repository.get(number))


@router.get("/diff", responses=problem_responses(401, 403, 404, 422),
            summary="What changed between two versions")
async def diff(
    runtime: RuntimeDep, _: Reader,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> dict[str, Any]:
    d = diff_versions(runtime.rules.repository, from_version, to_version)
    return {
        "from": d.before, "to": d.after, "unified": d.unified,
        "default_changed": d.default_changed, "calendars_changed": list(d.calendars_changed),
        "rules": [{"name": c.name, "kind": c.kind.value, "fields": list(c.fields)}
                  for c in d.rules],
    }


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    to_version: int = Field(ge=1, examples=[1])
    comment: str = Field(default="", max_length=500)


@router.post("/rollback", status_code=201,
             responses=problem_responses(400, 401, 403, 404, 412, 422, 428),
             summary="Publish a new version equal to an older one")
async def roll_back(body: RollbackIn, runtime: RuntimeDep, who: Supervisor, response: Response,
                    if_match: IfMatch = None) -> dict[str, Any]:
    base = base_version(if_match)
    result = await runtime.rollback_rules(body.to_version, base_version=base,
                                          author=who.name, comment=body.comment)
    response.headers["ETag"] = etag(result.version.number)
    return {**version_json(result.version),
            "warnings": [problem_json(p) for p in result.warnings]}
