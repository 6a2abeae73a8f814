"""Typed settings read from the environment (12-factor).

Everything has a development default so `python3 dev.py run` works with nothing set;
production must set at least DATABASE_URL, REDIS_URL, SECRET_KEY and BASE_DOMAIN.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    return int(raw) if raw is not None else default


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret(data_dir: Path) -> str:
    """A per-checkout random secret for development, kept under var/ so sessions survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


@dataclass(frozen=True)
class Settings:
    environment: str
    data_dir: Path
    database_url: str | None
    redis_url: str | None
    secret_key: str
    base_domain: str
    public_scheme: str
    public_port: int | None
    db_pool_size: int
    db_max_overflow: int
    db_statement_cache_size: int
    session_ttl_seconds: int
    session_cookie_secure: bool
    login_max_failures_per_account: int
    login_max_failures_per_ip: int
    login_window_seconds: int
    tenant_purge_grace_days: int
    max_request_body_bytes: int
    smtp_host: str
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    smtp_starttls: bool
    mail_from: str
    log_level: str
    log_json: bool
    metrics_token: str | None
    dramatiq_namespace: str
    worker_heartbeat_timeout_ms: int
    migrate_parallelism: int
    spare_schemas: int = 3  # ready tenant schemas kept for fast sign-up (tenants/spares.py)
    # The planner's price of a random page read on Tessera's connections (app/kernel/db.py):
    # PostgreSQL's default 4 models spinning disks; 1.1 is the usual value for SSD storage.
    # Empty: the server's own setting.
    db_random_page_cost: str = "1.1"
    default_locale: str = "en"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_test(self) -> bool:
        return self.environment == "test"

    def origin_for_host(self, host: str) -> str:
        port = f":{self.public_port}" if self.public_port not in (None, 80, 443) else ""
        return f"{self.public_scheme}://{host}{port}"

    def tenant_origin(self, slug: str) -> str:
        """The browser URL of a tenant, e.g. http://acme.localhost:8000."""
        return self.origin_for_host(f"{slug}.{self.base_domain}")

    @property
    def platform_origin(self) -> str:
        return self.origin_for_host(self.base_domain)


def load_settings() -> Settings:
    environment = _env("TESSERA_ENV", "development") or "development"
    data_dir = Path(_env("TESSERA_DATA_DIR", str(ROOT / "var")) or ROOT / "var")
    secret = _env("SECRET_KEY")
    if secret is None:
        if environment == "production":
            raise RuntimeError("SECRET_KEY must be set in production")
        secret = _dev_secret(data_dir)
    port = _env("PUBLIC_PORT", "8000")
    return Settings(
        environment=environment,
        data_dir=data_dir,
        database_url=_env("DATABASE_URL"),
        redis_url=_env("REDIS_URL"),
        secret_key=secret,
        base_domain=(_env("BASE_DOMAIN", "localhost") or "localhost").lower(),
        public_scheme=_env("PUBLIC_SCHEME", "http") or "http",
        public_port=int(port) if port else None,
        db_pool_size=_env_int("DB_POOL_SIZE", 10),
        db_max_overflow=_env_int("DB_MAX_OVERFLOW", 10),
        db_statement_cache_size=_env_int("DB_STATEMENT_CACHE_SIZE", 4096),
        session_ttl_seconds=_env_int("SESSION_TTL_SECONDS", 8 * 3600),
        session_cookie_secure=_env_bool("SESSION_COOKIE_SECURE", environment == "production"),
        login_max_failures_per_account=_env_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5),
        login_max_failures_per_ip=_env_int("LOGIN_MAX_FAILURES_PER_IP", 30),
        login_window_seconds=_env_int("LOGIN_WINDOW_SECONDS", 15 * 60),
        tenant_purge_grace_days=_env_int("TENANT_PURGE_GRACE_DAYS", 30),
        max_request_body_bytes=_env_int("MAX_REQUEST_BODY_BYTES", 2 * 1024 * 1024),
        smtp_host=_env("SMTP_HOST", "127.0.0.1") or "127.0.0.1",
        smtp_port=_env_int("SMTP_PORT", 1025),
        smtp_username=_env("SMTP_USERNAME"),
        smtp_password=_env("SMTP_PASSWORD"),
        smtp_starttls=_env_bool("SMTP_STARTTLS", False),
        mail_from=_env("MAIL_FROM", "Tessera <no-reply@tessera.localhost>") or "",
        log_level=_env("LOG_LEVEL", "INFO") or "INFO",
        log_json=_env_bool("LOG_JSON", True),
        metrics_token=_env("METRICS_TOKEN"),
        dramatiq_namespace=_env("DRAMATIQ_NAMESPACE", "tessera") or "tessera",
        worker_heartbeat_timeout_ms=_env_int("WORKER_HEARTBEAT_TIMEOUT_MS", 60_000),
        spare_schemas=_env_int("SPARE_SCHEMAS", 3),
        db_random_page_cost=_env("DB_RANDOM_PAGE_COST", "1.1") or "",
        migrate_parallelism=_env_int("MIGRATE_PARALLELISM", 4),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget cached settings (the CLI sets DATABASE_URL after starting embedded servers)."""
    get_settings.cache_clear()
