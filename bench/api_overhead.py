"""API overhead, measured against a bare FastAPI hello-world served the same way in the same run.

Prints:
  1. requests/s of GET /api/v1/me with a valid key, beside the bare hello-world's requests/s
     (and the same hello-world on tds's bounded HTTP protocol: what its limits cost);
  2. p50/p99 latency of a blocking POST /api/v1/renders on a zero-work engine, beside the bare
     hello-world's latency (goal: render overhead p50 <= 8 ms; ComfyUI's queue adds ~10.5 ms);
  3. renders/s for 20 concurrent blocking 2k renders on the real preview engine, beside the same
     renders run one at a time (as ComfyUI runs jobs), and the cores the server kept busy.

Each server runs in its own process (uvicorn, one worker, no access log; tds's as `tds serve`
runs it, from tds.server.http.uvicorn_config); the load comes from this process over loopback
with a small keep-alive HTTP/1.1 client, so the client costs little.

    python bench/api_overhead.py [--seconds 5] [--renders 200]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "house.png"


# -- servers (run as child processes of this script) -----------------------------------------


class ZeroEngine:
    """Does no work: answers a flat image of the target size."""

    name = "zero"
    description = "Benchmark engine: no work."
    generative = False
    kinds = frozenset({"render", "refine", "enhance", "video"})

    def setup(self) -> None:
        pass

    def run(self, job, progress):  # type: ignore[no-untyped-def]
        from tds.engines.base import Output

        return Output(image=Image.new("RGB", (job.width, job.height), (128, 128, 128)))


def serve(kind: str, port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    from tds.config import Settings
    from tds.server import http

    settings = Settings()
    quiet: dict[str, Any] = {"log_level": "warning", "access_log": False}
    if kind in ("bare", "bounded"):
        app = FastAPI()

        @app.get("/hello")
        async def hello() -> dict[str, str]:
            return {"hello": "world"}

        # bare: uvicorn as it comes; bounded: the same with tds's HTTP protocol (its limits).
        if kind == "bounded":
            quiet |= {"http": http.protocol_for(settings)}
        uvicorn.run(app, host="127.0.0.1", port=port, **quiet)
        return
    from tds.server.app import create_app

    engine = ZeroEngine() if kind == "zero" else None
    app = create_app(settings, engine=engine)  # type: ignore[arg-type]
    # Served as `tds serve` serves it.
    uvicorn.Server(http.uvicorn_config(app, settings, host="127.0.0.1", port=port, **quiet)).run()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, kind: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port", str(self.port)],
            env=os.environ | env,
        )
        for _ in range(300):
            try:
                path = "/hello" if kind in ("bare", "bounded") else "/healthz"
                httpx.get(self.url + path, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"{kind} server did not start")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


# -- load ------------------------------------------------------------------------------------


async def _keepalive_loop(port: int, request: bytes, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    while time.perf_counter() < deadline:
        writer.write(request)
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        done += 1
    counts.append(done)
    writer.close()
    await writer.wait_closed()


def throughput(port: int, path: str, headers: dict[str, str], seconds: float) -> float:
    """Requests/s over `seconds` with 16 keep-alive connections."""
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def run(duration: float) -> float:
        counts: list[int] = []
        start = time.perf_counter()
        deadline = start + duration
        await asyncio.gather(*(_keepalive_loop(port, request, deadline, counts) for _ in range(16)))
        return sum(counts) / (time.perf_counter() - start)

    asyncio.run(run(0.5))  # warm-up: caches, connection pools, first-call imports
    return asyncio.run(run(seconds))


def latencies(
    client: httpx.Client, method: str, path: str, count: int, **kwargs: object
) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code in (200, 201), response.text
    return times


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def make_key(data_dir: Path, credits: int) -> str:
    from sqlalchemy.orm import Session

    from tds.accounts import service as accounts
    from tds.keys import service as keys
    from tds.kit import migrate, secrets
    from tds.kit.db import Database

    url = f"sqlite:///{data_dir / 'tds.db'}"
    migrate.upgrade(url)
    db = Database(url)
    secret = secrets.load_or_create(None, data_dir)

    def issue(session: Session) -> str:
        account, _ = accounts.ensure(session, "bench@example.com", plan="studio", credits=credits)
        return keys.create(session, account.id, "bench", secret)[1]

    token = db.write(issue)
    db.dispose()
    return token


def main(seconds: float, render_count: int) -> None:
    tiny = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 200, 200)).save(tiny, "PNG")
    tiny_b64 = base64.b64encode(tiny.getvalue()).decode()
    house_b64 = base64.b64encode(FIXTURE.read_bytes()).decode()
    cores = os.cpu_count() or 1
    print(f"tds API overhead benchmark: {cores} cores, Python {sys.version.split()[0]}\n")

    bare = Server("bare", {})
    with httpx.Client(base_url=bare.url) as client:
        bare_rps = throughput(bare.port, "/hello", {}, seconds)
        bare_lat = latencies(client, "GET", "/hello", render_count)
    bare.stop()
    # The two protocols differ by about a microsecond a request, less than one run's noise
    # (which drifts in one direction over a run): best of three each, taken in turn.
    hello_rps: dict[str, list[float]] = {"bare": [bare_rps], "bounded": []}
    for kind in ("bounded", "bounded", "bare", "bounded", "bare"):
        server = Server(kind, {})
        hello_rps[kind].append(throughput(server.port, "/hello", {}, seconds))
        server.stop()
    bare_rps, bounded_rps = max(hello_rps["bare"]), max(hello_rps["bounded"])

    with tempfile.TemporaryDirectory() as tmp:
        env = {"TDS_DATA_DIR": tmp, "TDS_RATE_LIMIT": "100000000/minute"}
        key = make_key(Path(tmp), credits=10_000_000)
        auth = {"Authorization": f"Bearer {key}"}
        zero = Server("zero", env)
        with httpx.Client(base_url=zero.url, headers=auth, timeout=60) as client:
            me_rps = throughput(zero.port, "/api/v1/me", auth, seconds)
            body = {"image_base64": tiny_b64, "resolution": "1k"}
            latencies(client, "POST", "/api/v1/renders", 20, json=body)  # warm-up
            render_lat = latencies(client, "POST", "/api/v1/renders", render_count, json=body)
        zero.stop()

    with tempfile.TemporaryDirectory() as tmp:
        env = {"TDS_DATA_DIR": tmp, "TDS_RATE_LIMIT": "100000000/minute"}
        auth = {"Authorization": f"Bearer {make_key(Path(tmp), credits=1_000_000)}"}
        preview = Server("preview", env)
        body = {"image_base64": house_b64, "resolution": "2k", "lighting": "Golden Hour"}

        def render(_: int) -> None:
            with httpx.Client(base_url=preview.url, headers=auth, timeout=300) as client:
                response = client.post("/api/v1/renders", json=body)
                assert response.status_code == 200, response.text

        render(0)  # warm-up
        start, cpu_start = time.perf_counter(), preview.cpu_seconds()
        for number in range(4):
            render(number)
        one_at_a_time = 4 / (time.perf_counter() - start)
        serial_cores = (preview.cpu_seconds() - cpu_start) / (time.perf_counter() - start)
        start, cpu_start = time.perf_counter(), preview.cpu_seconds()
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(render, range(20)))
        wall = time.perf_counter() - start
        concurrent = 20 / wall
        busy_cores = (preview.cpu_seconds() - cpu_start) / wall
        preview.stop()

    me_ratio = me_rps / bare_rps
    overhead = statistics.median(render_lat) - statistics.median(bare_lat)
    rows = [
        (
            "bare hello-world",
            f"{bare_rps:8.0f} req/s",
            f"p50 {statistics.median(bare_lat):6.2f} ms",
            f"p99 {pct(bare_lat, 99):6.2f} ms",
        ),
        (
            "bare, tds's bounded HTTP protocol",
            f"{bounded_rps:8.0f} req/s",
            f"{bounded_rps / bare_rps:6.1%} of bare",
            "the cost of TDS_HTTP_* limits",
        ),
        ("GET /api/v1/me", f"{me_rps:8.0f} req/s", f"{me_ratio:6.0%} of bare", "goal >= 50%"),
        (
            "POST /renders (zero engine, 1k)",
            "",
            f"p50 {statistics.median(render_lat):6.2f} ms",
            f"p99 {pct(render_lat, 99):6.2f} ms",
        ),
        ("  render overhead over bare p50", "", f"{overhead:6.2f} ms", "goal <= 8 ms"),
        (
            "2k preview renders, one at a time",
            f"{one_at_a_time:8.2f} renders/s",
            f"{serial_cores:4.2f} cores busy",
            "",
        ),
        (
            "2k preview renders, 20 concurrent",
            f"{concurrent:8.2f} renders/s",
            f"{busy_cores:4.2f} cores busy",
            f"x{concurrent / one_at_a_time:.2f} vs one at a time",
        ),
    ]
    for row in rows:
        print(f"{row[0]:<36} {row[1]:>20}  {row[2]:>18}  {row[3]}")
    print(
        "\n"
        + json.dumps(
            {
                "bare_rps": round(bare_rps),
                "bounded_rps": round(bounded_rps),
                "bounded_ratio": round(bounded_rps / bare_rps, 3),
                "me_rps": round(me_rps),
                "me_ratio": round(me_ratio, 3),
                "render_p50_ms": round(statistics.median(render_lat), 2),
                "render_p99_ms": round(pct(render_lat, 99), 2),
                "bare_p50_ms": round(statistics.median(bare_lat), 2),
                "render_overhead_ms": round(overhead, 2),
                "serial_renders_per_s": round(one_at_a_time, 3),
                "concurrent_renders_per_s": round(concurrent, 3),
                "concurrent_cores_busy": round(busy_cores, 2),
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="Length of each throughput run.")
    parser.add_argument("--renders", type=int, default=200, help="Sequential renders timed.")
    parser.add_argument(
        "--serve", choices=["bare", "bounded", "zero", "preview"], help=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
    else:
        main(args.seconds, args.renders)
