"""The key format: `tds_live_` + 32 random base62 + 6-character CRC32 checksum (47 characters).

As GitHub's tokens: the checksum lets the server and secret scanners reject junk offline, before
any database query. Only HMAC-SHA256(server secret, key) is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib

from tds.kit.ids import BASE62, random_base62
from tds.kit.redaction import KEY_PATTERN

LIVE_PREFIX = "tds_live_"
PREFIXES = (LIVE_PREFIX, "tds_test_")
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6


def _checksum(body: str) -> str:
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, digit = divmod(value, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits))


def generate(prefix: str = LIVE_PREFIX) -> str:
    body = prefix + random_base62(RANDOM_LENGTH)
    return body + _checksum(body)


def is_well_formed(token: str) -> bool:
    if not KEY_PATTERN.fullmatch(token):
        return False
    body, checksum = token[:-CHECKSUM_LENGTH], token[-CHECKSUM_LENGTH:]
    return hmac.compare_digest(_checksum(body), checksum)


def digest(token: str, secret: bytes) -> str:
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()
