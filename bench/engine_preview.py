"""The preview engine's speed, beside a floor measured in the same run, on one core.

For house.png (512×512) and building.png (564×848) at 1k, 2k and 4k, prints the median ms of
each kind: render (golden hour, modern), refine, enhance on the fast path, enhance through
Real-ESRGAN (when installed) and the API's 4 s video. Each is timed as the service does it:
decode the PNG, run the engine, encode the result (JPEG q92; the video's MP4 is encoded by
the engine). The floor is the least any engine could do: decode the PNG, resize to the
target, encode JPEG q92. Every case runs in a child process of its own, whose peak RSS is
reported (and whose stdout, where Real-ESRGAN prints its progress, stays out of the table).
Last, the time of a 5 s 1080p clip.

    python bench/engine_preview.py [--repeats 5] [--slow-repeats 1] [--quick]

Goals (issue 3): render ≤ 4× the floor at every resolution; peak RSS ≤ 1.5 GB at 4k;
a 5 s 1080p video ≤ 15 s.
"""

from __future__ import annotations

import os

# One core: before numpy, OpenCV and the network load their thread pools.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tds.catalogue import RESOLUTIONS, output_size  # noqa: E402
from tds.engines.base import Job  # noqa: E402
from tds.engines.preview import superres, video  # noqa: E402
from tds.engines.preview.engine import PreviewEngine  # noqa: E402
from tds.engines.preview.pixels import resize, to_array  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
IMAGES = ("house.png", "building.png")
KINDS = ("render", "refine", "enhance", "enhance-esrgan", "video")
SLOW = frozenset({"enhance-esrgan", "video"})


def one_core() -> None:
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def case(
    engine: PreviewEngine, kind: str, data: bytes, size: tuple[int, int]
) -> Callable[[], None]:
    """One service-shaped run of `kind`: decode, engine, encode."""
    width, height = size
    presets: dict[str, dict[str, Any]] = {
        "render": {"lighting": "golden_hour", "style": "modern"},
        "refine": {"prompt": "warmer, less foggy, dramatic", "strength": 0.6},
    }
    options = presets.get(kind, {})
    engine_kind = "enhance" if kind.startswith("enhance") else kind

    def run() -> None:
        os.environ["TDS_PREVIEW_UPSCALER"] = "realesrgan" if kind == "enhance-esrgan" else "fast"
        job = Job(kind=engine_kind, image=decode(data), width=width, height=height, **options)  # type: ignore[arg-type]
        jpeg(engine.run(job, lambda done, total: None).image)

    return run


def floor(data: bytes, size: tuple[int, int]) -> Callable[[], None]:
    def run() -> None:
        jpeg(decode(data).resize(size, Image.Resampling.LANCZOS))

    return run


def median_ms(run: Callable[[], None], repeats: int, warm_up: bool = True) -> float:
    if warm_up:
        run()  # imports, allocator, caches; the slow cases' one-off costs are negligible
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(
    name: str, resolution: str, kinds: list[str], repeats: int, slow: int
) -> dict[str, Any]:
    """{kind: ms, 'floor': ms, 'rss_mb': peak} for one image at one resolution."""
    one_core()
    engine = PreviewEngine()
    engine.setup()
    data = (FIXTURES / name).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        size = output_size(*image.size, resolution)
    result: dict[str, float] = {"floor": median_ms(floor(data, size), repeats)}
    for kind in kinds:
        runs = slow if kind in SLOW else repeats
        result[kind] = median_ms(case(engine, kind, data, size), runs, warm_up=kind not in SLOW)
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def in_child(
    name: str, resolution: str, kinds: list[str], repeats: int, slow: int
) -> dict[str, Any]:
    """measure() in a fresh process, so its peak RSS is this case's alone."""
    argv = [
        sys.executable,
        __file__,
        "--child",
        json.dumps([name, resolution, kinds, repeats, slow]),
    ]
    output = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    line = [row for row in output.splitlines() if row.startswith("{")][-1]
    result: dict[str, Any] = json.loads(line)
    return result


def video_5s_1080p(repeats: int) -> float:
    one_core()
    data = (FIXTURES / "house.png").read_bytes()

    def run() -> None:
        still = np.ascontiguousarray(resize(to_array(decode(data)), (1920, 1080)))
        video.encode(still, lambda done, total: None, 0, 1, seconds=5.0)

    return median_ms(run, repeats, warm_up=False) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per fast case (median)")
    parser.add_argument("--slow-repeats", type=int, default=1, help="runs per video/network case")
    parser.add_argument("--quick", action="store_true", help="house.png only, 2 repeats")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*json.loads(args.child))))
        return
    images = IMAGES[:1] if args.quick else IMAGES
    repeats = 2 if args.quick else args.repeats
    kinds = [kind for kind in KINDS if kind != "enhance-esrgan" or superres.available()]
    if "enhance-esrgan" not in kinds:
        print("Real-ESRGAN is not installed: its rows are left out.\n")
    started = time.perf_counter()

    print(
        "| image | res | floor ms | " + " | ".join(f"{kind} ms (×floor)" for kind in kinds) + " |"
    )
    print("|---" * (3 + len(kinds)) + "|")
    peaks: dict[str, dict[str, float]] = {}
    for name in images:
        for resolution in RESOLUTIONS:
            if resolution == "4k":
                # One process per kind: each peak RSS is that kind's alone.
                parts = {
                    k: in_child(name, resolution, [k], repeats, args.slow_repeats) for k in kinds
                }
                measured = {k: part[k] for k, part in parts.items()}
                measured["floor"] = statistics.median(part["floor"] for part in parts.values())
                peaks[name] = {k: part["rss_mb"] for k, part in parts.items()}
            else:
                measured = in_child(name, resolution, kinds, repeats, args.slow_repeats)
            base = measured["floor"]
            cells = [f"{measured[kind]:,.0f} ({measured[kind] / base:.1f}×)" for kind in kinds]
            print(f"| {name} | {resolution} | {base:,.0f} | " + " | ".join(cells) + " |")
            sys.stdout.flush()
    print("\nPeak RSS at 4k, MB (one process per kind, Python and libraries included):\n")
    print("| image | " + " | ".join(kinds) + " |")
    print("|---" * (1 + len(kinds)) + "|")
    for name, peak in peaks.items():
        print(f"| {name} | " + " | ".join(f"{peak[kind]:,.0f}" for kind in kinds) + " |")
    print(f"\n5 s 1080p video (24 fps, 120 frames): {video_5s_1080p(args.slow_repeats):.1f} s")
    print(f"(bench took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
