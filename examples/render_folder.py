"""Render every viewport capture in a folder, four at a time, and save the results.

    export TDS_API_KEY=tds_live_…        # or run `tds login` once
    python examples/render_folder.py captures/ renders/ --style Modern --lighting "Golden Hour"

`tds render captures/ -o renders/` does the same from a shell; this is the SDK version to build
your own pipeline on. A file that fails (a broken image, no credits left) is reported, and the
others go on; a retried request is never charged twice.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tds.client import Client, TdsError

IMAGES = {".png", ".jpg", ".jpeg", ".webp"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="viewport captures (PNG, JPEG, WebP)")
    parser.add_argument("out", type=Path, help="where the renders go")
    parser.add_argument("--style", help="e.g. Modern (see `tds styles`)")
    parser.add_argument("--lighting", help="e.g. 'Golden Hour'")
    parser.add_argument("--resolution", default="2k", choices=["1k", "2k", "4k"])
    args = parser.parse_args()

    client = Client()  # key and URL from TDS_API_KEY / TDS_BASE_URL or `tds login`
    images = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in IMAGES)
    args.out.mkdir(parents=True, exist_ok=True)

    def render(path: Path) -> tuple[Path, int, TdsError | None]:
        try:
            result = client.render(
                path,
                architectural_style=args.style,
                lighting=args.lighting,
                resolution=args.resolution,
            )
            client.download(result, args.out / f"{path.stem}.jpg")
            return path, result.credits_used, None
        except TdsError as error:  # this file failed; the batch goes on
            return path, 0, error

    with ThreadPoolExecutor(max_workers=4) as pool:  # one Client is safe to share
        results = list(pool.map(render, images))

    failed = [(path, error) for path, _, error in results if error is not None]
    for path, error in failed:
        print(f"{path.name}: {error}", file=sys.stderr)
    spent = sum(credits for _, credits, _ in results)
    print(f"{len(results) - len(failed)} rendered, {len(failed)} failed, {spent} credits spent")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
