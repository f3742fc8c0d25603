"""Fixtures of the Redis test set: the session's private server (see tests/conftest_redis.py)."""

from __future__ import annotations

from tests.conftest_redis import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]
