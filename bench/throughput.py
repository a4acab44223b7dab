"""Throughput and latency of the in-process workers against Celery workers, in one run.

Every configuration serves the same API (`tds serve`, one process) on the same PostgreSQL and a
fixed-cost engine (tests.support.engines:SleepEngine, 200 ms a render), so the differences are the
dispatch path's own:

  1. renders/s and p50/p99 latency of blocking POST /api/v1/renders from 8 concurrent clients,
     for in-process workers (1 and 2 threads) and Celery (1 and 2 worker processes);
  2. one client at a time (a tiny image, so that decoding adds no jitter), the median of each
     stage of a render (accepted, started, run, answered) from the render's own timestamps,
     and what the queue path adds over the in-process one (goal: <= 10 ms p50);
  3. 100 and then 200 concurrent blocking clients on the Celery path: the API's resident
     memory before, its median while they wait, and its peak (while their images come in).

Needs PostgreSQL (127.0.0.1:5432, trust) and Redis (127.0.0.1:6379), as the tests do.

    python bench/throughput.py [--renders 80] [--engine-seconds 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import httpx
import redis
import sqlalchemy
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.servers import free_port  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 200, 200)).save(buffer, "PNG")
    return buffer.getvalue()


# A real viewport screenshot (1.1 MP PNG, 370 KiB): what a plugin sends.
VIEWPORT = ROOT / "tests" / "fixtures" / "house.png"
BODY = {"image_base64": base64.b64encode(VIEWPORT.read_bytes()).decode(), "resolution": "1k"}
# The one-at-a-time latencies use a tiny image: decoding a real one takes ~30 ms, the same on
# both paths, and its jitter would drown the few milliseconds the dispatch path adds.
SMALL = {"image_base64": base64.b64encode(small_png()).decode(), "resolution": "1k"}


@contextmanager
def database() -> Iterator[str]:
    name = f"tds_bench_{secrets.token_hex(4)}"
    admin = sqlalchemy.create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


class Deployment:
    """One API process and 0..n Celery worker processes sharing a database and a prefix."""

    def __init__(self, folder: Path, database_url: str, engine_seconds: float) -> None:
        self.prefix = f"tds-bench-{secrets.token_hex(4)}:"
        self.env = os.environ | {
            "TDS_DATA_DIR": str(folder),
            "TDS_DATABASE_URL": database_url,
            "TDS_ENGINE": "tests.support.engines:SleepEngine",
            "TDS_TEST_ENGINE_SECONDS": str(engine_seconds),
            "TDS_RATE_LIMIT": "1000000/minute",
            "TDS_LOG_LEVEL": "warning",
            "PYTHONPATH": str(ROOT),
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.url = ""

    def key(self) -> str:
        email = f"{secrets.token_hex(4)}@bench.local"
        command = [sys.executable, "-m", "tds", "admin", "create-key", "--email", email]
        done = subprocess.run(
            [*command, "--plan", "studio", "--credits", "1000000"],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def start(self, *, threads: int = 0, workers: int = 0) -> None:
        """In-process workers (`threads`) or Celery (`workers` processes, one render each)."""
        if workers:
            self.env |= {"TDS_BROKER_URL": REDIS_URL, "TDS_BROKER_PREFIX": self.prefix}
            for _ in range(workers):
                self._spawn("worker", "--concurrency", "1")
        else:
            self.env |= {"TDS_WORKERS": str(threads)}
        port = free_port()
        self.api = self._spawn("serve", "--port", str(port))
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                httpx.get(f"{self.url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        time.sleep(3 if workers else 0.5)  # let workers finish loading their engines

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "tds", *args],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def api_rss_mib(self) -> float:
        status = Path(f"/proc/{self.api.pid}/status").read_text()
        line = next(row for row in status.splitlines() if row.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def stop(self) -> None:
        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{self.prefix}*"):
            client.delete(key)
        client.close()


@dataclass
class Sent:
    render_id: str
    sent: float  # wall clock, seconds since the epoch
    answered: float


async def load(
    url: str, key: str, renders: int, concurrency: int, body: dict[str, str] = BODY
) -> tuple[float, list[Sent]]:
    """Blocking renders from `concurrency` clients; (seconds in all, each request's times)."""
    sent: list[Sent] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(renders):
        queue.put_nowait(number)
    limits = httpx.Limits(max_connections=concurrency + 10)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300, limits=limits) as c:

        async def client() -> None:
            while not queue.empty():
                queue.get_nowait()
                began = time.time()
                response = await c.post("/api/v1/renders", json=body)
                assert response.status_code == 200, response.text
                sent.append(Sent(response.json()["render"]["id"], began, time.time()))

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return time.perf_counter() - began, sent


def stages_ms(url: str, sent: list[Sent]) -> dict[str, float]:
    """Median milliseconds of each stage of a blocking render, from the client's clock and the
    render's own timestamps (one machine, one clock)."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            query = sqlalchemy.text("SELECT id, created_at, started_at, completed_at FROM renders")
            rows = {row.id: row for row in connection.execute(query)}
    finally:
        engine.dispose()
    spans: dict[str, list[float]] = {"accept": [], "to start": [], "run": [], "answer": []}
    for one in sent:
        row = rows[one.render_id]
        created, started, completed = (
            (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()
            for t in (row.created_at, row.started_at, row.completed_at)
        )
        spans["accept"].append(created - one.sent)
        spans["to start"].append(started - created)
        spans["run"].append(completed - started)
        spans["answer"].append(one.answered - completed)
    spans["total"] = [one.answered - one.sent for one in sent]
    return {name: statistics.median(values) * 1000 for name, values in spans.items()}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def held_clients(deployment: Deployment, key: str, clients: int) -> tuple[float, float, float]:
    """API memory (MiB): before, the median while `clients` blocking requests wait, and peak."""
    before = deployment.api_rss_mib()
    samples: list[float] = []

    async def run() -> None:
        task = asyncio.ensure_future(load(deployment.url, key, clients, clients))
        while not task.done():
            samples.append(deployment.api_rss_mib())
            await asyncio.sleep(0.1)
        await task

    asyncio.run(run())
    return before, statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=80, help="renders per throughput run")
    parser.add_argument("--sequential", type=int, default=40, help="renders one at a time")
    parser.add_argument("--engine-seconds", type=float, default=0.2)
    parser.add_argument("--clients", type=int, default=200, help="blocking clients held at once")
    args = parser.parse_args()
    configurations = [
        ("in-process, 1 worker thread", {"threads": 1}),
        ("in-process, 2 worker threads", {"threads": 2}),
        ("Celery, 1 worker", {"workers": 1}),
        ("Celery, 2 workers", {"workers": 2}),
    ]
    rows = []
    stages: dict[str, dict[str, float]] = {}
    memory: list[tuple[int, tuple[float, float, float]]] = []
    for name, options in configurations:
        with tempfile.TemporaryDirectory() as folder, database() as url:
            deployment = Deployment(Path(folder), url, args.engine_seconds)
            key = deployment.key()
            deployment.start(**options)
            try:
                asyncio.run(load(deployment.url, key, 10, 1))  # warm up
                _, single = asyncio.run(load(deployment.url, key, args.sequential, 1, SMALL))
                stages[name] = stages_ms(url, single)
                seconds, sent = asyncio.run(load(deployment.url, key, args.renders, 8))
                latencies = [one.answered - one.sent for one in sent]
                rows.append(
                    (
                        name,
                        args.renders / seconds,
                        percentile(latencies, 50) * 1000,
                        percentile(latencies, 99) * 1000,
                    )
                )
                if name == configurations[-1][0]:
                    # A first burst grows the heap to its working size (images arriving at
                    # once); what then matters is that waiting clients add nothing to it.
                    held_clients(deployment, key, args.clients)
                    for clients in (args.clients // 2, args.clients):
                        memory.append((clients, held_clients(deployment, key, clients)))
            finally:
                deployment.stop()

    print(
        f"engine: {args.engine_seconds * 1000:.0f} ms a render, {VIEWPORT.name} in, 1k out, "
        "PostgreSQL"
    )
    print(f"\n8 concurrent blocking clients, {args.renders} renders:")
    print(f"{'configuration':32} {'renders/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, rate, p50, p99 in rows:
        print(f"{name:32} {rate:10.2f} {p50:8.0f} {p99:8.0f}")
    print(f"\none client at a time, {args.sequential} renders of a 320x240 image, median ms:")
    names = list(next(iter(stages.values())))
    print(f"{'configuration':32} " + " ".join(f"{n:>9}" for n in names))
    for name, values in stages.items():
        print(f"{name:32} " + " ".join(f"{values[n]:9.1f}" for n in names))
    celery, local = stages["Celery, 1 worker"], stages["in-process, 1 worker thread"]
    print(
        f"\nthe queue path adds {celery['total'] - local['total']:.1f} ms p50 per render "
        f"(goal <= 10 ms): {celery['to start'] - local['to start']:.1f} ms to start, "
        f"{celery['answer'] - local['answer']:.1f} ms to answer once done"
    )
    for clients, (before, waiting, peak) in memory:
        print(
            f"{clients} concurrent blocking clients on Celery: API RSS {before:.0f} MiB before, "
            f"{waiting:.0f} MiB (median) while they wait, {peak:.0f} MiB peak"
        )


if __name__ == "__main__":
    main()
