"""The SketchUp extension's Ruby suites (plugins/sketchup/test) and its .rbz package.

Each minitest file runs in its own `ruby -w` against a real tds server on loopback; the test
passes when every test the file defines ran and passed, with no skips and no Ruby warnings.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from tests.support.servers import LiveServer

from .tools import PLUGINS, defined_tests, live_env, minitest_counts, require_tools, run

SKETCHUP = PLUGINS / "sketchup"
TESTS = SKETCHUP / "test"
SUITES = sorted(path.name for path in TESTS.glob("*_test.rb"))
LIVE_SUITES = {"live_test.rb", "host_test.rb"}  # these render against the server


def run_minitest(file: Path, env: dict[str, str]) -> tuple[int, str]:
    result = run(["ruby", "-w", f"-I{TESTS}", str(file)], env=env)
    output = result.stdout + result.stderr
    counts = minitest_counts(output)
    expected = defined_tests(file, r"^\s*def test_")
    assert expected > 0
    assert (counts.failed, counts.errors, counts.skipped) == (0, 0, 0), output
    assert counts.ran == expected, f"{file.name}: {counts.ran} of {expected} tests ran\n{output}"
    assert result.returncode == 0, output
    warnings = [line for line in output.splitlines() if "warning:" in line and "plugins/" in line]
    assert not warnings, "\n".join(warnings)
    return counts.ran, output


def test_every_suite_is_collected() -> None:
    assert SUITES == [
        "client_test.rb",
        "core_test.rb",
        "host_test.rb",
        "live_test.rb",
        "loader_test.rb",
    ]


@pytest.mark.parametrize("suite", SUITES)
def test_ruby_suite(suite: str, server: LiveServer) -> None:
    require_tools("ruby")
    rich = server.account(credits=500, plan="pro")
    empty = server.account(credits=0)
    run_minitest(TESTS / suite, live_env(server, rich, empty))

    # Whatever the suite rendered came from "sketchup", finished, and the books add up.
    with server.client(rich) as client:
        renders = client.get("/api/v1/renders", params={"limit": 100}).json()["data"]
    assert bool(renders) == (suite in LIVE_SUITES)
    assert {render["source"] for render in renders} <= {"sketchup"}
    assert {render["status"] for render in renders} <= {"done"}
    assert server.assert_books_balanced(rich).credits_held == 0
    assert server.assert_books_balanced(empty).credits == 0


def test_rbz_holds_exactly_the_loader_and_its_folder(tmp_path: Path) -> None:
    require_tools("zip", "ruby")
    result = run(["bash", str(SKETCHUP / "build.sh"), str(tmp_path)])
    assert result.returncode == 0, result.stderr
    package = Path(result.stdout.strip().splitlines()[-1])
    assert package.parent == tmp_path
    assert package.name.startswith("tds_render-")
    assert package.suffix == ".rbz"

    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
        archive.extractall(tmp_path / "Plugins")
    assert {name.split("/")[0] for name in names} == {"tds_render.rb", "tds_render"}
    assert all("\\" not in name for name in names)
    source = SKETCHUP / "src"
    shipped = {name for name in names if not name.endswith("/")}
    expected = {
        path.relative_to(source).as_posix()
        for path in source.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }
    assert shipped == expected
    assert not any("test" in name.split("/")[:-1] for name in shipped)

    # The loader from the package registers the extension as the one in the repository does.
    loader = tmp_path / "Plugins" / "tds_render.rb"
    run_minitest(TESTS / "loader_test.rb", {"TDS_SKETCHUP_LOADER": str(loader)})


def test_the_dialog_loads_nothing_remote() -> None:
    """The panel is one local page: the key typed there goes nowhere but to Ruby."""
    page = (SKETCHUP / "src" / "tds_render" / "html" / "dialog.html").read_text(encoding="utf-8")
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"\b(fetch|XMLHttpRequest)\b", page)
