"""The shared C# core of the Rhino, Revit and AutoCAD plugins, built and tested on Mono.

plugins/dotnet/build-linux.sh compiles the core, its NUnit tests and the Windows-only shared UI
(type-checked only) with mcs, runs nunit-console against a real tds server on loopback and prints
"N passed, N failed, N skipped"; this test holds it to every test the sources define.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support.servers import LiveServer

from .tools import PLUGINS, defined_tests, live_env, require_tools, run

DOTNET = PLUGINS / "dotnet"
TESTS = DOTNET / "Tds.Plugins.Core.Tests"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


def expected_cases() -> int:
    """[Test] methods plus one case per [TestCase(...)] line."""
    return sum(
        defined_tests(path, r"^\s*\[(Test|TestCase\(.*\))\]\s*$") for path in TESTS.glob("*.cs")
    )


def failures(result_xml: Path) -> list[str]:
    if not result_xml.exists():
        return ["no TestResult.xml"]
    out = []
    for case in ET.parse(result_xml).getroot().iter("test-case"):
        if case.get("result") not in ("Success", "Passed"):
            message = case.findtext(".//message") or ""
            out.append(f"{case.get('name')} [{case.get('result')}]: {message.strip()[:500]}")
    return out


def test_core_builds_and_every_nunit_test_passes_on_mono(
    tmp_path: Path, server: LiveServer
) -> None:
    require_tools("mcs", "mono", "nunit-console")
    rich = server.account(credits=500, plan="pro")
    empty = server.account(credits=0)
    env = live_env(server, rich, empty) | {"TDS_DOTNET_BUILD": str(tmp_path)}
    result = run(["bash", str(DOTNET / "build-linux.sh")], env=env, timeout=300)
    output = result.stdout + result.stderr

    found = SUMMARY.findall(result.stdout)
    assert found, output[-4000:]
    passed, failed, skipped = map(int, found[-1])
    problems = failures(tmp_path / "TestResult.xml")
    assert (failed, skipped) == (0, 0), "\n".join(problems)
    assert passed == expected_cases() > 40, f"{passed} passed of {expected_cases()}"
    assert result.returncode == 0, output[-4000:]
    assert (tmp_path / "Tds.Plugins.Windows.dll").exists(), "the shared Windows UI must compile"

    # The live cases rendered as each host, and the books add up.
    with server.client(rich) as client:
        renders = client.get("/api/v1/renders", params={"limit": 100}).json()["data"]
    assert {render["source"] for render in renders} == {"rhino", "revit", "autocad"}
    assert {render["status"] for render in renders} == {"done"}
    assert server.assert_books_balanced(rich).credits_held == 0
    assert server.assert_books_balanced(empty).credits == 0


def test_host_adapters_are_kept_out_of_the_mono_build() -> None:
    """Only the core and its tests compile here; adapters need host SDKs and live apart."""
    script = (DOTNET / "build-linux.sh").read_text(encoding="utf-8")
    for adapter in ("Tds.Rhino", "Tds.Revit", "Tds.AutoCAD"):
        assert (DOTNET / adapter).is_dir()
        assert f"{adapter}/" not in script
    core_sources = "\n".join(
        path.read_text(encoding="utf-8") for path in (DOTNET / "Tds.Plugins.Core").glob("*.cs")
    )
    for host_namespace in ("Rhino", "Autodesk", "Eto", "System.Windows.Forms"):
        assert f"using {host_namespace}" not in core_sources
