"""The progress bar of `tds render` on stderr."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tds.client import Render


def _fraction(render: Render) -> float:
    """How far one render is: uploaded counts 5%, the engine's own progress the next 90%, and
    a finished one stays short of done until its file is saved."""
    if render.finished:
        return 0.99
    return 0.05 + 0.9 * render.progress.fraction if render.progress else 0.0


class ProgressBar:
    """One bar for the whole batch. In-flight renders count by their progress, so the bar
    moves during long renders too. Safe to call from the batch's worker threads."""

    def __init__(self, total: int) -> None:
        # Imported here: only a shown bar needs rich, and every `tds` command starts faster.
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._total = total
        self._finished = 0
        self._partial: dict[int, float] = {}
        self._lock = threading.Lock()
        self._bar = Progress(
            TextColumn("[bold]rendering"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = self._bar.add_task("render", total=total, count=f"0/{total}")
        self._bar.start()

    def _draw(self) -> None:
        completed = self._finished + sum(self._partial.values())
        count = f"{self._finished}/{self._total}"
        self._bar.update(self._task, completed=completed, count=count)

    def progress(self, index: int, render: Render) -> None:
        """Input `index` is in flight, as far as `render` says."""
        with self._lock:
            self._partial[index] = min(_fraction(render), 0.99)
            self._draw()

    def done(self, index: int, line: str) -> None:
        """Input `index` has finished: print its line above the bar."""
        with self._lock:
            self._partial.pop(index, None)
            self._finished += 1
            self._bar.console.print(line, markup=False, highlight=False)
            self._draw()

    def close(self) -> None:
        self._bar.stop()
