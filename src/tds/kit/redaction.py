"""API keys kept out of text: the key format's pattern, and `redact()` for log lines."""

from __future__ import annotations

import re

# tds_live_ (or tds_test_) + 32 random base62 + a 6-character checksum: see tds.keys.tokens.
KEY_PATTERN = re.compile(r"tds_(live|test)_[0-9A-Za-z]{38}")


def redact(text: str) -> str:
    """Hide every key in `text`, keeping the prefix and last 4 characters."""
    return KEY_PATTERN.sub(lambda m: f"{m.group(0)[:9]}…{m.group(0)[-4:]}", text)
