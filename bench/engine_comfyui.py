"""What tds adds to each render in front of a ComfyUI server, per render.

Against the loopback fake ComfyUI (tests/support/fake_comfyui.py: ComfyUI's documented HTTP and
websocket protocol), running an SDXL-shaped workflow (upload, ControlNet, a 20-step sampler
reporting each step, SaveImage), at 1k and 2k:
- `tds`: the comfyui engine's whole run: encode the input, upload it, bind and submit the
  workflow, follow its progress on the websocket, fetch the output with /view (as a JPEG of
  95), decode it as an untrusted image and bring it to the exact size;
- `bare`: a client doing the same calls with the bytes tds sent (the JPEG already encoded, the
  graph already bound): the same upload, the same POST /prompt, its own websocket followed to
  `execution_success`, the same GET /view (`preview=jpeg;95`), the answer read, not decoded;
- `overhead`: the median of tds − bare over --repeats pairs, the two run in turn.
Both talk to the same fake in this process, so the fake's own work (it decodes, scales and
encodes for real) is in both and cancels out.

    python bench/engine_comfyui.py [--repeats 21]

Goal (issue 16): overhead ≤ 30 ms p50 at 2k.
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
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import httpx  # noqa: E402
from PIL import Image  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import fake_comfyui  # noqa: E402

from tds.catalogue import output_size  # noqa: E402
from tds.engines.base import Job  # noqa: E402
from tds.engines.comfyui.config import ComfyUISettings  # noqa: E402
from tds.engines.comfyui.engine import ComfyUIEngine  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "house.png"
RESOLUTIONS = ("1k", "2k")
STEPS = 20
OUTPUT_NODE = "12"


class Bare:
    """The same calls with nothing of tds: its own client id, socket and HTTP client."""

    def __init__(self, url: str) -> None:
        self.client_id = uuid.uuid4().hex
        self.http = httpx.Client(base_url=url, timeout=60)
        self.stack = ExitStack()
        address = f"{url.replace('http://', 'ws://')}/ws?clientId={self.client_id}"
        self.socket = self.stack.enter_context(connect(address, proxy=None))
        self.socket.recv(timeout=10)  # the status message every socket gets first

    def close(self) -> None:
        self.stack.close()
        self.http.close()

    def render(self, image: bytes, graph: dict[str, Any]) -> bytes:
        upload = self.http.post(
            "/upload/image",
            files={"image": (f"{uuid.uuid4().hex}.jpg", image, "image/jpeg")},
            data={"type": "input", "subfolder": "tds", "overwrite": "true"},
        ).json()
        graph = json.loads(json.dumps(graph))
        graph["2"]["inputs"]["image"] = f"{upload['subfolder']}/{upload['name']}"
        prompt_id = str(uuid.uuid4())
        body = {"prompt": graph, "client_id": self.client_id, "prompt_id": prompt_id}
        assert self.http.post("/prompt", json=body).status_code == 200
        output: dict[str, Any] | None = None
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            data = message["data"]
            if data.get("prompt_id") != prompt_id:
                continue
            if message["type"] == "executed" and data["node"] == OUTPUT_NODE:
                output = data["output"]
            if message["type"] == "execution_success":
                break
        assert output is not None
        file = output["images"][0]
        response = self.http.get("/view", params=file | {"preview": "jpeg;95"})
        assert response.status_code == 200
        return response.content


def ms(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


def paired(tds: Callable[[], object], bare: Callable[[], object], repeats: int) -> list[float]:
    """Medians of tds, of bare and of their differences, the two run in turn: the fake's own
    work varies more from run to run than what tds adds, and a pair shares the moment."""
    pairs = [(ms(tds), ms(bare)) for _ in range(repeats)]
    return [
        statistics.median(a for a, _ in pairs),
        statistics.median(b for _, b in pairs),
        statistics.median(a - b for a, b in pairs),
    ]


def main(repeats: int) -> None:
    cv2.setNumThreads(1)
    source = Image.open(FIXTURE).convert("RGB")
    print(
        f"comfyui engine over a loopback fake ComfyUI: median of {repeats} pairs, one core, "
        f"a {STEPS}-step workflow, input {source.width}x{source.height}\n"
    )
    rows = []
    with tempfile.TemporaryDirectory() as folder, fake_comfyui.FakeComfyUI() as fake:
        workflows = fake_comfyui.write_workflows(
            Path(folder), {"render": fake_comfyui.sdxl(steps=STEPS)}
        )
        engine = ComfyUIEngine(ComfyUISettings(url=fake.url, workflows=workflows))
        engine.setup()
        bare = Bare(fake.url)
        try:
            for resolution in RESOLUTIONS:
                width, height = output_size(*source.size, resolution)
                job = Job(kind="render", image=source, width=width, height=height, seed=7)

                def through_tds(job: Job = job) -> None:
                    engine.run(job, lambda done, total: None)

                through_tds()  # warm-up; also records what tds sent
                sent = fake.calls("/prompt", "POST")[-1].body["prompt"]
                subfolder, name = sent["2"]["inputs"]["image"].split("/", 1)
                image = fake.files[("input", subfolder, name)]  # the JPEG tds uploaded

                def bare_calls(image: bytes = image, graph: dict[str, Any] = sent) -> None:
                    bare.render(image, graph)

                bare_calls()
                tds_ms, bare_ms, overhead_ms = paired(through_tds, bare_calls, repeats)
                rows.append(
                    {
                        "resolution": resolution,
                        "size": f"{width}x{height}",
                        "tds_ms": round(tds_ms, 1),
                        "bare_ms": round(bare_ms, 1),
                        "overhead_ms": round(overhead_ms, 1),
                    }
                )
        finally:
            bare.close()
            engine.close()
    print(f"{'res':4} {'output':>10} {'tds ms':>9} {'bare ms':>9} {'overhead':>9}")
    for row in rows:
        print(
            f"{row['resolution']:4} {row['size']:>10} "
            f"{row['tds_ms']:9.1f} {row['bare_ms']:9.1f} {row['overhead_ms']:9.1f}"
        )
    at_2k = next(row["overhead_ms"] for row in rows if row["resolution"] == "2k")
    print(f"\noverhead at 2k: {at_2k:.1f} ms (goal <= 30)")
    print(json.dumps({"rows": rows, "overhead_2k_ms": at_2k}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21)
    main(parser.parse_args().repeats)
