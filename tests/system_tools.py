"""System programs the test command obtains itself (Chromium, promtool).

A tool the suite needs is installed with apt-get when it is missing and the process is
root (as in CI); otherwise the test fails with a message saying how to get it. Tests
never skip for a missing tool: a silently skipped check looks exactly like a passing one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _apt_install(package: str, binary: Path) -> str:
    """apt-get install `package` (root only); answers what went wrong, or ''."""
    if os.geteuid() != 0:
        return f"{binary} is missing and this process is not root, so it cannot apt-get it"
    if shutil.which("apt-get") is None:
        return f"{binary} is missing and there is no apt-get to install it with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]
    for command in (["apt-get", "update"], install):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed ({done.returncode}): {done.stderr[-500:]}"
    return "" if binary.exists() else f"apt-get installed {package} but {binary} is absent"


def require_debian_tool(binary: Path, package: str, purpose: str) -> str:
    """The path of `binary`, installing Debian's `package` first when it is missing."""
    if not binary.exists():
        problem = _apt_install(package, binary)
        if problem:
            pytest.fail(f"no {binary.name} for {purpose}: {problem}. Install Debian's "
                        f"{package} (`apt-get install -y {package}`) and run again.",
                        pytrace=False)
    return str(binary)
