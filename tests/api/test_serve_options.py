"""`omniroute serve` runs uvicorn on uvloop and httptools, without an access log unless
asked: the configuration the HTTP benchmark's figures were measured with."""

from __future__ import annotations

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from router.app import create_app
from router.cli import uvicorn_options
from tests.api.conftest import settings


def test_serve_uses_the_c_loop_and_parser_without_access_log() -> None:
    config = uvicorn.Config(create_app(settings()), **uvicorn_options(settings()))
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    assert config.loop == "uvloop"
    assert config.access_log is False


def test_access_log_can_be_turned_on() -> None:
    config = uvicorn.Config(create_app(settings(access_log=True)),
                            **uvicorn_options(settings(access_log=True)))
    assert config.access_log is True
