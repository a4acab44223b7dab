"""Docs that tests keep honest: every setting and error code is documented."""

from __future__ import annotations

import inspect
from pathlib import Path

from tds import exceptions
from tds.config import Settings

DOCS = Path(__file__).parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    for name, field in Settings.model_fields.items():
        assert f"`TDS_{name.upper()}`" in text, name
        assert field.description, f"Settings.{name} has no description"


def test_every_error_code_is_documented() -> None:
    text = (DOCS / "api.md").read_text()
    codes = {
        cls.code
        for _, cls in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(cls, exceptions.TdsError)
    }
    for code in codes | {"method_not_allowed"}:
        assert f"`{code}`" in text, code
