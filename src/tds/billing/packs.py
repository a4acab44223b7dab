"""The credit packs on sale: data (a TOML file), never code.

The packaged `packs.toml` unless TDS_CREDIT_PACKS_FILE names another. A file that does not
parse, or a pack that is not whole, stops the server from selling anything rather than sell the
wrong thing: `load` raises ValueError naming the file and the pack.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tds.credits.ledger import MAX_CREDITS
from tds.exceptions import InvalidRequest

DEFAULT_FILE = Path(__file__).with_name("packs.toml")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_CURRENCY = re.compile(r"[a-z]{3}")
# Stripe's largest amount is 8 digits (99,999,999 in the minor unit) for most currencies.
MAX_PRICE = 99_999_999


@dataclass(frozen=True)
class Pack:
    id: str
    name: str
    credits: int
    price: int  # in the currency's smallest unit, as Stripe's unit_amount
    currency: str  # ISO 4217, lower case

    @property
    def price_label(self) -> str:
        """The price as people read it, e.g. "19.00 USD" (two decimals; Stripe's zero-decimal
        currencies, such as JPY, have none)."""
        if self.currency in _ZERO_DECIMAL:
            return f"{self.price:,} {self.currency.upper()}"
        return f"{self.price / 100:,.2f} {self.currency.upper()}"


# Stripe's zero-decimal currencies (docs.stripe.com/currencies#zero-decimal).
_ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)


def _pack(raw: object, where: str) -> Pack:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: a [[pack]] table is expected")
    unknown = set(raw) - {"id", "name", "credits", "price", "currency"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    pack_id, name = raw.get("id"), raw.get("name")
    credits, price, currency = raw.get("credits"), raw.get("price"), raw.get("currency")
    if not isinstance(pack_id, str) or not _ID.fullmatch(pack_id):
        raise ValueError(f"{where}: id must be 1-64 of a-z, 0-9, _ and -, got {pack_id!r}")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ValueError(f"{where}: name must be 1-100 characters")
    if isinstance(credits, bool) or not isinstance(credits, int):
        raise ValueError(f"{where}: credits must be a whole number")
    if not 1 <= credits <= MAX_CREDITS:
        raise ValueError(f"{where}: credits must be 1 to {MAX_CREDITS:,}")
    if isinstance(price, bool) or not isinstance(price, int) or not 1 <= price <= MAX_PRICE:
        raise ValueError(f"{where}: price must be a whole number of minor units, 1 to {MAX_PRICE}")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency.lower()):
        raise ValueError(f"{where}: currency must be a three-letter ISO code such as usd")
    return Pack(pack_id, name.strip(), credits, price, currency.lower())


@lru_cache(maxsize=8)
def load(path: Path | None = None) -> tuple[Pack, ...]:
    """The packs in `path` (the packaged file by default), in the file's order."""
    source = path or DEFAULT_FILE
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"credit packs file {source}: {error}") from None
    raw = data.get("pack", [])
    if not isinstance(raw, list):
        raise ValueError(f"credit packs file {source}: [[pack]] tables are expected")
    found = tuple(
        _pack(item, f"credit packs file {source}, pack {n + 1}") for n, item in enumerate(raw)
    )
    ids = [pack.id for pack in found]
    if len(set(ids)) != len(ids):
        raise ValueError(f"credit packs file {source}: pack ids must be unique")
    return found


def find(packs: tuple[Pack, ...], pack_id: str) -> Pack:
    for pack in packs:
        if pack.id == pack_id:
            return pack
    on_sale = ", ".join(pack.id for pack in packs) or "none"
    raise InvalidRequest(f"No credit pack {pack_id!r}; on sale: {on_sale}.", param="pack")
