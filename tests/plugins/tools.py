"""Running the plugins' own test suites (Ruby minitest, C# NUnit) from pytest."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.accounts import Account
from tests.support.images import FIXTURES
from tests.support.servers import LiveServer

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
CONTRACT = PLUGINS / "contract"
INSTALL_HINT = "run scripts/install-plugin-toolchains (Debian: ruby, minitest, Mono, NUnit, zip)"


def require_tools(*names: str) -> None:
    """Fail with the install hint when a toolchain is missing (make test installs them): a
    plugin suite that does not run must never pass for one that did."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: {INSTALL_HINT}")


def run(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def live_env(server: LiveServer, rich: Account, empty: Account) -> dict[str, str]:
    """What the plugins' live tests read: a server, a key with credits, one without, an image."""
    return {
        "TDS_TEST_URL": server.url,
        "TDS_TEST_KEY": rich.key,
        "TDS_TEST_EMPTY_KEY": empty.key,
        "TDS_TEST_IMAGE": str(FIXTURES / "house.png"),
    }


@dataclass(frozen=True)
class Counts:
    ran: int
    failed: int
    errors: int
    skipped: int


MINITEST = re.compile(
    r"^(\d+) runs, (\d+) assertions, (\d+) failures, (\d+) errors, (\d+) skips$", re.M
)


def minitest_counts(output: str) -> Counts:
    found = MINITEST.findall(output)
    assert len(found) == 1, f"no minitest summary in:\n{output}"
    runs, _assertions, failures, errors, skips = map(int, found[0])
    return Counts(runs, failures, errors, skips)


def defined_tests(path: Path, pattern: str) -> int:
    """How many tests a file defines, so a suite that silently runs fewer fails."""
    return len(re.findall(pattern, path.read_text(encoding="utf-8"), re.M))
