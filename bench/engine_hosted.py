"""What tds adds to a hosted provider's round trip, per render, on one core.

For each provider engine (stability, openai, gemini) against its loopback fake
(tests/support/fake_*.py, the vendors' documented wire formats), at 1k, 2k and 4k:
- `tds`: the engine's whole run (encode the input, the SDK or httpx request, decode and
  re-encode the answer, bring it to the exact size) plus the render's fidelity score;
- `bare`: the same request replayed as raw bytes with httpx (what the engine sent, captured by
  the fake) and the answer read: the provider's round trip and nothing of tds;
- `overhead`: tds − bare, the median of --repeats runs each.
Last, the fidelity score alone on a 4k input and output, the worst case.

    python bench/engine_hosted.py [--repeats 7]

Goals (issue 14): overhead ≤ 60 ms at 2k; the fidelity score at 4k ≤ 40 ms on one core.
"""

from __future__ import annotations

import os

# One core: before numpy and OpenCV load their thread pools.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import httpx  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import fake_gemini, fake_openai, fake_stability  # noqa: E402

from tds.catalogue import output_size  # noqa: E402
from tds.engines.base import Engine, Job  # noqa: E402
from tds.engines.gemini.config import GeminiSettings  # noqa: E402
from tds.engines.gemini.engine import GeminiEngine  # noqa: E402
from tds.engines.openai.config import OpenAISettings  # noqa: E402
from tds.engines.openai.engine import OpenAIEngine  # noqa: E402
from tds.engines.stability.config import StabilitySettings  # noqa: E402
from tds.engines.stability.engine import StabilityEngine  # noqa: E402
from tds.images.fidelity import fidelity_score  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "house.png"
RESOLUTIONS = ("1k", "2k", "4k")
# A request replayed as it was sent: method, URL, headers, body.
Replay = tuple[str, str, dict[str, str], bytes]


@contextmanager
def stability() -> Iterator[tuple[Engine, Callable[[], Replay]]]:
    fake = fake_stability.FakeStability()
    try:
        engine = StabilityEngine(
            StabilitySettings(api_key=fake_stability.KEY, base_url=fake.url, retries=0)
        )
        engine.setup()
        yield engine, lambda: _multipart(fake.url, fake.requests[-1], "image")
    finally:
        fake.close()


@contextmanager
def openai() -> Iterator[tuple[Engine, Callable[[], Replay]]]:
    with fake_openai.FakeOpenAI() as fake:
        engine = OpenAIEngine(OpenAISettings(api_key=fake_openai.KEY, base_url=fake.url, retries=0))
        engine.setup()
        origin = fake.url.removesuffix("/v1")
        yield engine, lambda: _multipart(origin, fake.requests[-1], "image[]")


@contextmanager
def gemini() -> Iterator[tuple[Engine, Callable[[], Replay]]]:
    with fake_gemini.running() as fake:
        engine = GeminiEngine(
            GeminiSettings(api_key=fake_gemini.API_KEY, base_url=fake.url, retries=0)
        )
        engine.setup()

        def replay() -> Replay:
            sent = fake.requests[-1]
            headers = {"x-goog-api-key": fake_gemini.API_KEY, "content-type": "application/json"}
            return "POST", fake.url + sent.path, headers, json.dumps(sent.body).encode()

        yield engine, replay


def _multipart(origin: str, sent: Any, image_field: str) -> Replay:
    """The fake's record of a multipart request, encoded again by httpx as the engine sent it."""
    uploads = sent.files.get(image_field) or []
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for name, value in sent.files.items():
        for item in value if isinstance(value, list) else [value]:
            filename, content_type, data = (
                (item.filename, item.content_type, item.data)
                if hasattr(item, "data")
                else (item[0], item[1], item[2])
            )
            files.append((name, (filename, data, content_type)))
    assert uploads or files, "the engine sent no image"
    request = httpx.Request(
        "POST", origin + sent.path, data=dict(sent.fields), files=files, headers=_auth(sent)
    )
    body = request.read()
    return "POST", str(request.url), dict(request.headers), body


def _auth(sent: Any) -> dict[str, str]:
    keep = ("authorization", "accept")
    return {name: value for name, value in sent.headers.items() if name in keep}


def timed(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench(name: str, make: Callable[[], Any], repeats: int) -> list[dict[str, Any]]:
    source = Image.open(FIXTURE).convert("RGB")
    rows = []
    with make() as (engine, last_request), httpx.Client(timeout=120) as client:
        for resolution in RESOLUTIONS:
            width, height = output_size(*source.size, resolution)
            job = Job(kind="render", image=source, width=width, height=height, seed=7)

            def through_tds(job: Job = job) -> None:
                output = engine.run(job, lambda done, total: None)
                fidelity_score(job.image, output.image)

            through_tds()  # warm-up; also records the request the engine sends
            method, url, headers, body = last_request()

            def bare(
                method: str = method,
                url: str = url,
                headers: dict[str, str] = headers,
                body: bytes = body,
            ) -> None:
                response = client.request(method, url, headers=headers, content=body)
                assert response.status_code == 200, response.text[:200]
                response.read()

            bare()
            tds_ms, bare_ms = timed(through_tds, repeats), timed(bare, repeats)
            rows.append(
                {
                    "provider": name,
                    "resolution": resolution,
                    "size": f"{width}x{height}",
                    "tds_ms": round(tds_ms, 1),
                    "bare_ms": round(bare_ms, 1),
                    "overhead_ms": round(tds_ms - bare_ms, 1),
                }
            )
    return rows


def score_at_4k(repeats: int) -> float:
    source = Image.open(FIXTURE).convert("RGB").resize((4096, 4096))
    output = source.rotate(2)  # a render that moved a little
    return timed(lambda: fidelity_score(source, output), repeats)


def main(repeats: int) -> None:
    cv2.setNumThreads(1)
    print(f"hosted engines over their loopback fakes: median of {repeats}, one core\n")
    rows = []
    for name, make in (("stability", stability), ("openai", openai), ("gemini", gemini)):
        rows += bench(name, make, repeats)
    print(f"{'provider':10} {'res':4} {'output':>10} {'tds ms':>9} {'bare ms':>9} {'overhead':>9}")
    for row in rows:
        print(
            f"{row['provider']:10} {row['resolution']:4} {row['size']:>10} "
            f"{row['tds_ms']:9.1f} {row['bare_ms']:9.1f} {row['overhead_ms']:9.1f}"
        )
    at_2k = max(row["overhead_ms"] for row in rows if row["resolution"] == "2k")
    score = score_at_4k(repeats)
    print(f"\nworst overhead at 2k: {at_2k:.1f} ms (goal <= 60)")
    print(f"fidelity score, 4096x4096 input and output: {score:.1f} ms (goal <= 40)")
    print(json.dumps({"rows": rows, "overhead_2k_ms": at_2k, "score_4k_ms": round(score, 1)}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    main(parser.parse_args().repeats)
