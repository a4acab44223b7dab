"""Log lines as text or as one JSON object per line, each with the request id it belongs to.

`log_config(level, fmt)` is a `logging.config.dictConfig` dictionary: `tds serve` hands it to
uvicorn (so uvicorn's own and access loggers use it too), and a worker process can apply it with
`configure(settings)`. Every line is passed through `tds.kit.redaction.redact`, so an API key
that reaches a message (a query string in an access line, say) is never written in full.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from tds.kit import request_id
from tds.kit.redaction import redact

if TYPE_CHECKING:
    from tds.config import Settings

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id"?, "exception"?, …}` on one line.

    uvicorn's access lines also carry `client`, `method`, `path` and `status` as fields.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["request_id"] = rid
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, _version, status = args
            entry |= {"client": client, "method": method, "path": path, "status": status}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def log_config(level: str = "info", fmt: LogFormat = "text") -> dict[str, Any]:
    """A dictConfig for the root logger: uvicorn's loggers and ours all end up there."""
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    uvicorn_loggers = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"tds": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["request_id"],
                "formatter": "tds",
            }
        },
        "loggers": {name: {"handlers": [], "propagate": True} for name in uvicorn_loggers},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
    }


def configure(settings: Settings) -> None:
    """Apply the settings' log level and format to this process (for processes uvicorn does
    not start, such as render workers)."""
    logging.config.dictConfig(log_config(settings.log_level, settings.log_format))
