"""examples/ run as a person runs them, against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.client.helpers import make_images
from tests.support.images import FIXTURES
from tests.support.servers import LiveServer

EXAMPLES = Path(__file__).parents[2] / "examples"


def run(live: LiveServer, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"TDS_API_KEY": key, "TDS_BASE_URL": live.url}
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_render_folder(live: LiveServer, tmp_path: Path) -> None:
    account = live.account(credits=100, plan="pro")
    make_images(tmp_path / "captures", 4)
    (tmp_path / "captures" / "broken.png").write_text("not an image")
    out = tmp_path / "renders"
    done = run(
        live,
        account.key,
        str(EXAMPLES / "render_folder.py"),
        *(str(tmp_path / "captures"), str(out), "--style", "Modern", "--resolution", "1k"),
    )
    assert done.returncode == 1  # the broken file
    assert done.stdout.strip() == "4 rendered, 1 failed, 20 credits spent"
    assert "broken.png: invalid_image (400)" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"view0{i}.jpg" for i in range(1, 5)]
    assert live.assert_books_balanced(account).credits == 80


def test_refine_best(live: LiveServer, tmp_path: Path) -> None:
    account = live.account(credits=100, plan="pro")
    done = run(
        live,
        account.key,
        str(EXAMPLES / "refine_best.py"),
        *(str(FIXTURES / "house.png"), "--prompt", "more trees", "--out", str(tmp_path)),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["Golden", "Overcast", "Blue"]
    assert lines[3].endswith("(36 credits in all)")
    assert (tmp_path / "house.refined.jpg").is_file()
    assert live.assert_books_balanced(account).credits == 64
