"""Fixtures for the preview engine tests."""

from __future__ import annotations

import pytest

from tds.engines.preview.engine import PreviewEngine


@pytest.fixture(autouse=True)
def fast_upscaler(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enhance takes the fast path unless a test asks for Real-ESRGAN (seconds per image)."""
    monkeypatch.setenv("TDS_PREVIEW_UPSCALER", "fast")


@pytest.fixture(scope="session")
def engine() -> PreviewEngine:
    engine = PreviewEngine()
    engine.setup()
    return engine
