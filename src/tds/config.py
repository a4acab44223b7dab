"""All settings in one place, read from `TDS_*` environment variables."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live
_OWN_FILES = ("tds.db", "secret.key", "demo-key.txt")  # a data dir that holds one of these is tds's


def _tighten(path: Path) -> None:
    """Take group and other permissions off `path` where it has any (never widens)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & ~0o077)
    except FileNotFoundError:
        pass


def _sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL; None for other databases, memory and URI filenames."""
    scheme, _, rest = url.partition(":///")
    if not scheme.startswith("sqlite") or not rest or "?" in rest or rest.startswith(":memory:"):
        return None
    return Path(rest)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TDS_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".tds-data"), description="Holds the SQLite file, stored images and secrets."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to SQLite in data_dir."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL used in links to files and renders; defaults to the request's own.",
    )
    key_secret: str | None = Field(
        default=None,
        description="Server secret (pepper) for API key digests; generated into data_dir if unset.",
    )

    storage: Literal["local", "s3"] = Field(
        default="local",
        description="Where stored images live: local (files in data_dir) or s3 (a bucket).",
    )
    s3_bucket: str | None = Field(
        default=None, description="The bucket objects are stored in; required with storage=s3."
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="An S3-compatible server's URL (MinIO, R2, Garage, …); unset for AWS S3.",
    )
    s3_region: str | None = Field(
        default=None, description="The bucket's region; unset: boto3's own (AWS_REGION, …)."
    )
    s3_public_url: str | None = Field(
        default=None,
        description="Base URL under which the bucket's objects are public (a public bucket or a "
        "CDN): object URLs are <s3_public_url>/<key>. Unset: presigned URLs.",
    )
    s3_url_expiry_seconds: int = Field(
        default=MAX_PRESIGN_SECONDS,
        ge=1,
        le=MAX_PRESIGN_SECONDS,
        description="How long a presigned object URL works (at most 7 days, SigV4's limit).",
    )

    engine: str = Field(
        default="preview",
        description="The engine for every kind by default: a built-in name, or "
        "package.module:Class for an engine of your own.",
    )
    engine_for: dict[str, str] = Field(
        default_factory=dict,
        description='Another engine for some kinds, as JSON: {"video": "preview"}.',
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, description="In-process render workers."
    )
    broker_url: str | None = Field(
        default=None,
        description="Redis URL (redis://host:6379/0): run renders on Celery workers (`tds worker`) "
        "instead of in this process.",
    )
    broker_prefix: str = Field(
        default="tds:",
        description="Prefix of every Redis key, queue and channel tds uses, so several "
        "deployments can share one Redis.",
    )
    queue_for: dict[str, str] = Field(
        default_factory=dict,
        description='Celery queue for some kinds, as JSON: {"video": "gpu"}. By default video '
        "renders go to `video`, diffusion renders to `gpu`, the rest to `cpu`.",
    )
    max_queued: int = Field(default=1000, description="Renders waiting at once before 503.")
    max_wait_seconds: float = Field(
        default=120.0, description="Longest a blocking POST /renders waits before answering 202."
    )
    render_timeout_seconds: float = Field(
        default=600.0, description="A render still processing this long after it started fails."
    )
    queue_timeout_seconds: float = Field(
        default=6 * 3600.0, description="A render still queued this long fails and is refunded."
    )
    reaper_interval_seconds: float = Field(
        default=30.0, description="How often renders past their deadline are failed and refunded."
    )

    max_upload_bytes: int = Field(default=25 * 1024 * 1024, description="Largest image accepted.")
    max_image_pixels: int = Field(default=50_000_000, description="Largest decoded image.")
    fetch_timeout_seconds: float = Field(
        default=10.0, description="Longest an image_url download may take, redirects included."
    )
    rate_limit: str = Field(
        default="600/minute",
        description="Requests per API key: N/second|minute|hour|day (shared by every API "
        "process through Redis when TDS_BROKER_URL is set, else per process).",
    )
    login_rate_limit: str = Field(
        default="10/minute",
        description="Dashboard log-in attempts per client address, and failed log-ins per email "
        "from one address (shared like rate_limit).",
    )
    auth_failure_rate_limit: str = Field(
        default="30/minute",
        description="Failed authentications (unknown or revoked API keys, wrong passwords) per "
        "client address before it gets 429 without a database read (shared like rate_limit).",
    )
    signup: Literal["open", "closed"] = Field(
        default="open",
        description="open: anyone may sign up on the dashboard (and confirm their email address "
        "before their credits appear); closed: accounts are made only with "
        "`tds admin create-key`.",
    )
    signup_rate_limit: str = Field(
        default="5/hour",
        description="Dashboard sign-ups per client address; mails asked for on the dashboard "
        "(a new confirmation link, a password reset) count here too.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="Mail server for outgoing mail (email confirmation, password reset): "
        "smtp://user:password@host:587 (STARTTLS when the server offers it) or smtps://…:465 "
        "(TLS from the start). Unset: each mail is written to the log and to data_dir/mail/.",
    )
    mail_from: str = Field(
        default="tds@localhost", description="The From address of the mail tds sends."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks of reverse proxies whose X-Forwarded-For and "
        'X-Forwarded-Proto are believed, as JSON: ["127.0.0.1", "10.0.0.0/8"]. Empty: none.',
    )
    http_max_header_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest request line plus headers, in bytes."
    )
    http_max_headers: int = Field(default=100, ge=8, description="Most headers in one request.")
    http_header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest a request's line and headers may take to arrive."
    )
    http_keep_alive_seconds: float = Field(
        default=5.0, gt=0, description="How long an idle keep-alive connection stays open."
    )
    http_min_body_bytes_per_second: int = Field(
        default=1024,
        ge=1,
        description="Slowest a request body may arrive, on average, once the header timeout has "
        "passed; slower connections are closed.",
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        description="How long a checked API key is trusted without a database read; a key "
        "revoked elsewhere stops working within this time.",
    )
    idempotency_ttl_hours: int = Field(
        default=24, description="How long an Idempotency-Key and its answer are kept."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Web origins allowed to call the API from a browser, as JSON: ["https://a.b"].',
    )
    stripe_secret_key: SecretStr | None = Field(
        default=None,
        description="Stripe secret key (sk_live_… or sk_test_…): with the webhook secret, the "
        "dashboard sells credit packs through Stripe Checkout. Unset: credits come from the "
        "operator.",
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        description="The signing secret (whsec_…) of the Stripe webhook endpoint that tells tds "
        "a Checkout Session was paid.",
    )
    stripe_api_base: str = Field(
        default="https://api.stripe.com",
        description="Base URL of Stripe's API (a test server's in tests).",
    )
    credit_packs_file: Path | None = Field(
        default=None,
        description="A TOML file of the credit packs on sale; unset: the packaged packs.",
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text, or json: one JSON object per line with time, level, logger, message, "
        "request_id and exception.",
    )

    def prepare_data_dir(self) -> None:
        """Create the data dir private (0700); narrow one tds made before, and its SQLite files
        (`kit.db` creates a new database 0600). Permissions are only ever narrowed."""
        existed = self.data_dir.is_dir()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not existed or any((self.data_dir / name).exists() for name in _OWN_FILES):
            _tighten(self.data_dir)
        database = _sqlite_file(self.sqlalchemy_url)
        for suffix in ("", "-wal", "-shm", "-journal") if database else ():
            _tighten(Path(f"{database}{suffix}"))

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'tds.db').resolve()}"

    @property
    def stripe_configured(self) -> bool:
        """Whether credits are sold here: a Stripe secret key and a webhook secret are set."""
        return bool(
            self.stripe_secret_key
            and self.stripe_secret_key.get_secret_value()
            and self.stripe_webhook_secret
            and self.stripe_webhook_secret.get_secret_value()
        )

    @property
    def idempotency_ttl(self) -> timedelta:
        return timedelta(hours=self.idempotency_ttl_hours)

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def mail_dir(self) -> Path:
        """Where mail goes when no TDS_SMTP_URL is set."""
        return self.data_dir / "mail"
