"""Published rule versions in Redis, so every worker of a site reads the same history.

`RedisRuleRepository` implements `rules.RuleRepository` (a synchronous protocol: the
rule engine publishes and reads in place) over a synchronous redis-py client. Rule
changes are rare supervisor actions, so the short blocking round trip is acceptable;
workers call `get` from their config watcher through `asyncio.to_thread`.

Keys (the site's hash tag, next to the store's keys):
    or:{site}:rules:v      hash: version number → JSON (canonical ruleset, author, ...)
    or:{site}:rules:draft  string: the saved draft as JSON

Versions are 1..n with no gaps, so the hash's length is the current version. A publish
is one Lua script: it compares the caller's base version with HLEN and writes version
n+1 only if they match, so two workers publishing from the same base cannot both win.
Stored versions are immutable and cached in process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router.errors import StoreUnavailable
from router.redis_store import site_prefix
from rules import Draft, NoDraft, RulesetSpec, RulesetVersion, UnknownVersion, VersionConflict

_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)

# KEYS[1] versions hash; ARGV[1] base version ('' = none published); ARGV[2] JSON body.
_PUBLISH = """
local n = redis.call('HLEN', KEYS[1])
local base = tonumber(ARGV[1]) or 0
if base ~= n then return {0, n} end
redis.call('HSET', KEYS[1], n + 1, ARGV[2])
return {1, n + 1}
"""


def rules_keys(site: str) -> tuple[str, str]:
    prefix = site_prefix(site)
    return prefix + "rules:v", prefix + "rules:draft"


class RedisRuleRepository:
    """`RuleRepository` over Redis: versions shared by every worker of `site`."""

    def __init__(
        self, url: str, site: str, clock: Callable[[], float] = time.time,
        client: redis.Redis | None = None, timeout: float = 5.0,
    ) -> None:
        self.url = url
        self._clock = clock
        self.client = client or redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
        self._versions_key, self._draft_key = rules_keys(site)
        self._publish = self.client.register_script(_PUBLISH)
        self._cache: dict[int, RulesetVersion] = {}

    # ------------------------------------------------------------------ reading
    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(self.url, str(exc) or type(exc).__name__) from exc

    def count(self) -> int:
        return int(self._call(lambda: self.client.hlen(self._versions_key)))

    def current(self) -> RulesetVersion | None:
        n = self.count()
        return self.get(n) if n else None

    def get(self, number: int) -> RulesetVersion:
        cached = self._cache.get(number)
        if cached is not None:
            return cached
        raw = self._call(lambda: self.client.hget(self._versions_key, str(number)))
        if raw is None:
            raise UnknownVersion(number)
        version = _version(number, str(raw))
        self._cache[number] = version
        return version

    def versions(self) -> Sequence[RulesetVersion]:
        raw: dict[str, str] = self._call(lambda: self.client.hgetall(self._versions_key))
        out = []
        for key in sorted(raw, key=int):
            number = int(key)
            version = self._cache.get(number) or _version(number, raw[key])
            self._cache[number] = version
            out.append(version)
        return tuple(out)

    # ------------------------------------------------------------------ writing
    def publish(
        self, ruleset: RulesetSpec, *, base_version: int | None, author: str, comment: str = "",
        rolled_back_from: int | None = None,
    ) -> RulesetVersion:
        published_at = self._clock()
        body = json.dumps({
            "ruleset": ruleset.model_dump(mode="json"), "author": author,
            "published_at": published_at, "comment": comment,
            "rolled_back_from": rolled_back_from,
        }, separators=(",", ":"))
        base = "" if base_version is None else str(base_version)
        ok, number = self._call(
            lambda: self._publish(keys=[self._versions_key], args=[base, body])
        )
        if not int(ok):
            raise VersionConflict(base_version, int(number) or None)
        version = RulesetVersion(int(number), ruleset, author, published_at, comment,
                                 rolled_back_from)
        self._cache[version.number] = version
        return version

    def save_draft(self, ruleset: RulesetSpec, *, author: str) -> Draft:
        draft = Draft(ruleset, author, self._clock(), self.count() or None)
        body = json.dumps({"ruleset": ruleset.model_dump(mode="json"), "author": author,
                           "saved_at": draft.saved_at, "base_version": draft.base_version},
                          separators=(",", ":"))
        self._call(lambda: self.client.set(self._draft_key, body))
        return draft

    def draft(self) -> Draft:
        raw = self._call(lambda: self.client.get(self._draft_key))
        if raw is None:
            raise NoDraft()
        data = json.loads(raw)
        return Draft(RulesetSpec.from_data(data["ruleset"]), data["author"],
                     float(data["saved_at"]), data["base_version"])

    def discard_draft(self) -> None:
        self._call(lambda: self.client.delete(self._draft_key))

    def close(self) -> None:
        self.client.close()


def _version(number: int, raw: str) -> RulesetVersion:
    data = json.loads(raw)
    return RulesetVersion(number, RulesetSpec.from_data(data["ruleset"]), data["author"],
                          float(data["published_at"]), data.get("comment", ""),
                          data.get("rolled_back_from"))
