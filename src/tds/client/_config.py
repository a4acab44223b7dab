"""Where the key and base URL come from: the argument, `TDS_API_KEY` / `TDS_BASE_URL`, the user
config file (`$TDS_CONFIG`, else `~/.config/tds/config.json`), in that order."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ._errors import TdsError

DEFAULT_BASE_URL = "http://localhost:8000"
KEY_ENV = "TDS_API_KEY"
URL_ENV = "TDS_BASE_URL"
CONFIG_ENV = "TDS_CONFIG"


def config_path() -> Path:
    """`$TDS_CONFIG`, else `$XDG_CONFIG_HOME/tds/config.json`, else `~/.config/tds/config.json`."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tds" / "config.json"


def load_config(path: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The config file's `api_key` and `base_url` (an empty dict when there is no file)."""
    file = Path(path) if path is not None else config_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise TdsError(f"Cannot read {file}: {error}", code="invalid_config") from None
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise TdsError(
            f"{file} is not valid JSON; run `tds login` again or delete it.", code="invalid_config"
        ) from None
    if not isinstance(data, dict):
        raise TdsError(f"{file} should hold a JSON object.", code="invalid_config")
    return {k: v for k, v in data.items() if k in ("api_key", "base_url") and isinstance(v, str)}


def save_config(api_key: str, base_url: str, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the config file readable by its owner only (mode 600); its path."""
    file = Path(path) if path is not None else config_path()
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps({"api_key": api_key, "base_url": base_url}, indent=2) + "\n"
    # A new file made with mode 600 and moved over the old one: the key is never readable by
    # others, not even for a moment, whatever mode an earlier file had.
    temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
        os.chmod(temporary, 0o600)  # in case the file was left over with another mode
        os.replace(temporary, file)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return file


def resolve(
    api_key: str | None = None,
    base_url: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> tuple[str | None, str]:
    """(api_key, base_url): the arguments, else the environment, else the config file."""
    key = api_key or os.environ.get(KEY_ENV) or None
    url = base_url or os.environ.get(URL_ENV) or None
    if key is None or url is None:
        stored = load_config(path)
        key = key or stored.get("api_key") or None
        url = url or stored.get("base_url") or None
    return key, (url or DEFAULT_BASE_URL).rstrip("/")
