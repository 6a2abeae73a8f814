"""HTTP benchmark plumbing: tenants with API clients and tokens, uvicorn servers pinned to a core,
and wrk runs pinned to the other (bench/wrk_targets.lua), with their figures parsed.

Both servers run exactly as `tessera web` runs the application (app/cli.py): uvicorn, 1 worker,
uvloop, httptools, --no-access-log, --proxy-headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import ROOT, out

LUA = Path(__file__).resolve().parent / "wrk_targets.lua"
SERVER_CPU = os.environ.get("BENCH_SERVER_CPU", "0")
LOAD_CPU = os.environ.get("BENCH_LOAD_CPU", "1")
# One web process by default (the figures of bench/README.md); BENCH_WEB_WORKERS=2 with
# BENCH_SERVER_CPU=0,1 (or serve(..., workers=2)) serves like a two-core deployment; the CPU
# sampling then counts every worker.
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "1"))
UVICORN_FLAGS = [
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--proxy-headers",
    "--log-level",
    "warning",
]


@dataclass(frozen=True)
class Target:
    host: str
    token: str
    path: str


# --- tenants, clients, tokens -------------------------------------------------------------


async def create_clients(slugs: Sequence[str], scopes: list[str]) -> list[tuple[str, str]]:
    """One OAuth2 client per tenant (tenants.service.create_api_client): [(client_id, secret)]."""
    from tenants.service import create_api_client

    issued = []
    for slug in slugs:
        c = await create_api_client(slug, name="bench", scopes=scopes)
        issued.append((c.client.client_id, c.client_secret))
    return issued


async def fetch_tokens(port: int, clients: Sequence[tuple[str, str, str]], concurrency: int = 8) -> list[str]:
    """Client-credentials tokens from the running app's /oauth/token, for [(host, id, secret)].

    X-Forwarded-Proto: https stands in for the TLS-terminating proxy (the app runs with
    TESSERA_ENV=production and --proxy-headers, so the token endpoint insists on https)."""
    import httpx

    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

        async def one(host: str, cid: str, secret: str) -> str:
            async with sem:
                r = await client.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(cid, secret),
                    headers={"Host": host, "X-Forwarded-Proto": "https"},
                )
            r.raise_for_status()
            return str(r.json()["access_token"])

        return list(await asyncio.gather(*(one(*c) for c in clients)))


async def sign_in(port: int, host: str, email: str, password: str) -> str:
    """A session cookie ("name=value") for ``email``, through the log-in form like a browser."""
    import re

    import httpx

    headers = {"Host": host, "X-Forwarded-Proto": "https"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as c:
        page = await c.get("/login")
        cookie = page.headers.get("set-cookie", "").split(";", 1)[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if token is None:
            raise RuntimeError("no CSRF token on the log-in page")
        form = {"email": email, "password": password, "csrf_token": token[1]}
        r = await c.post("/login", data=form, headers={"Cookie": cookie})
        if r.status_code != 303:
            raise RuntimeError(f"sign-in of {email} failed: {r.status_code} {r.text[:300]}")
        return str(r.headers["set-cookie"].split(";", 1)[0])


# --- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _taskset(cpu: str | None) -> list[str]:
    if cpu is None or cpu == "" or not shutil.which("taskset"):
        return []
    return ["taskset", "-c", cpu]


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mb(self) -> float:
        import psutil

        return float(psutil.Process(self.pid).memory_info().rss) / 2**20


@contextmanager
def serve(
    name: str,
    app_spec: str,
    env: dict[str, str] | None = None,
    cpu: str | None = SERVER_CPU,
    workers: int | None = None,
) -> Iterator[Server]:
    """uvicorn ``app_spec`` (a factory) on a free port, pinned to ``cpu``; stopped on exit."""
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"tessera-bench-{name}-{port}.log"
    argv = [
        *_taskset(cpu),
        sys.executable,
        "-m",
        "uvicorn",
        app_spec,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers or WEB_WORKERS),
        *UVICORN_FLAGS,
    ]
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=fh, stderr=fh)
    server = Server(name, port, proc, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} server exited:\n{log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} server did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def check(port: int, target: Target) -> dict[str, Any]:
    """One request before the load: it must answer 200 with JSON (else the figures mean nothing)."""
    import httpx

    r = httpx.get(
        f"http://127.0.0.1:{port}{target.path}",
        headers={"Host": target.host, "Authorization": f"Bearer {target.token}"},
        timeout=30,
    )
    if r.status_code != 200:
        raise RuntimeError(f"GET {target.path} on {target.host}: {r.status_code} {r.text[:500]}")
    return dict(r.json())


def backend_pids(database: str) -> list[int]:
    """PIDs of the PostgreSQL backends connected to ``database`` (this benchmark's own)."""
    proc = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc",
         f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"],
        capture_output=True, text=True, check=False, timeout=10,
    )  # fmt: skip
    return [int(x) for x in proc.stdout.split() if x.isdigit()]


def pg_backend_memory(database: str) -> tuple[int, float]:
    """(backends, MB of private memory) of the PostgreSQL backends serving ``database`` — each holds
    catalog caches and prepared statements for every tenant schema it has served."""
    pids = backend_pids(database)
    kb = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    kb += int(line.split()[1])
    return len(pids), kb / 1024


class Sampler:
    """While a run goes: the server's CPU time and RSS (peak and end), and the CPU time of the
    PostgreSQL backends serving the benchmark's database (PostgreSQL runs on the same 2 cores).

    CPU time per request is much less sensitive to other work on the machine than latency is, so
    it is what attributes a difference between two runs. PostgreSQL CPU counts the backends alive
    at the start and at the end; backends opened *and* closed in between (pool overflow churn) are
    missed, which is why the number of new connections is reported too."""

    def __init__(self, server: Server, database: str | None = None) -> None:
        import psutil

        self.proc = psutil.Process(server.pid)
        self.database = database
        self.peak_rss = 0.0
        self.cpu_s = 0.0
        self.pg_cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _backends(self) -> dict[int, float]:
        import psutil

        cpu: dict[int, float] = {}
        for pid in backend_pids(self.database) if self.database else []:
            try:
                t = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            cpu[pid] = t.user + t.system
        return cpu

    def _sessions(self) -> int:
        """Connections ever opened to the database (pg_stat_database.sessions, PostgreSQL 14+)."""
        if not self.database:
            return 0
        proc = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc",
             f"SELECT sessions FROM pg_stat_database WHERE datname = '{self.database}'"],
            capture_output=True, text=True, check=False, timeout=10,
        )  # fmt: skip
        value = proc.stdout.strip()
        return int(value) if value.isdigit() else 0

    def _server_cpu(self) -> dict[int, float]:
        """CPU seconds of the server process and its workers (``BENCH_WEB_WORKERS`` > 1: uvicorn's
        supervisor forks them)."""
        import psutil

        cpu: dict[int, float] = {}
        for proc in (self.proc, *self.proc.children(recursive=True)):
            try:
                t = proc.cpu_times()
            except psutil.Error:
                continue
            cpu[proc.pid] = t.user + t.system
        return cpu

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss / 2**20)
            self._stop.wait(0.25)

    def __enter__(self) -> Sampler:
        self._cpu0 = self._server_cpu()
        self._pg0 = self._backends()
        self._sessions0 = self._sessions()
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.wall_s = time.monotonic() - self._t0
        cpu1 = self._server_cpu()
        self.cpu_s = sum(v - self._cpu0.get(pid, 0.0) for pid, v in cpu1.items())
        pg1 = self._backends()
        time.sleep(0.6)  # PostgreSQL publishes session statistics about once a second
        self.new_connections = self._sessions() - self._sessions0
        self.pg_cpu_s = sum(v - self._pg0.get(pid, 0.0) for pid, v in pg1.items())
        self.end_rss = self.proc.memory_info().rss / 2**20
        self.peak_rss = max(self.peak_rss, self.end_rss)

    @property
    def cpu_pct(self) -> float:
        return 100 * self.cpu_s / self.wall_s if self.wall_s else 0.0

    def per_request(self, requests: int) -> str:
        n = max(1, requests)
        server, pg = self.cpu_s / n * 1000, self.pg_cpu_s / n * 1000
        return (
            f"CPU/request: server {server:.2f} ms, PostgreSQL {pg:.2f} ms "
            f"(server busy {self.cpu_pct:.0f}% of one core);"
            f" {self.new_connections} new PostgreSQL connections"
        )


# --- load ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int  # non-2xx/3xx + socket errors + timeouts
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.rps:8.1f} req/s  p50 {self.p50_ms:6.2f} ms  p95 {self.p95_ms:6.2f} ms  "
            f"p99 {self.p99_ms:6.2f} ms  max {self.max_ms:7.2f} ms  ({self.requests} requests, "
            f"{self.errors} errors)"
        )


def wrk(
    port: int,
    targets: Sequence[Target],
    *,
    connections: int,
    seconds: float,
    delay_ms: float = 0,
    cpu: str | None = LOAD_CPU,
    auth: str = "bearer",
    jitter: bool = False,
) -> WrkResult:
    """wrk (1 thread, ``connections`` connections) rotating over ``targets``, pinned to ``cpu``.

    ``auth``: "bearer" (targets carry API tokens) or "cookie" (targets carry session cookies);
    ``jitter``: think times vary around ``delay_ms`` (wrk_targets.lua)."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".targets", delete=False) as fh:
        for t in targets:
            fh.write(f"{t.host} {t.token} {t.path}\n")
        targets_file = fh.name
    try:
        argv = [
            *_taskset(cpu),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{port}/",
        ]
        env = {
            **os.environ,
            "BENCH_TARGETS": targets_file,
            "BENCH_DELAY_MS": str(delay_ms),
            "BENCH_AUTH": auth,
            "BENCH_JITTER": "1" if jitter else "0",
        }
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=env, check=False, timeout=seconds + 60
        )
    finally:
        os.unlink(targets_file)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    d = json.loads(line.removeprefix("BENCH_JSON "))
    return WrkResult(
        requests=d["requests"],
        seconds=d["duration_us"] / 1e6,
        errors=d["status_errors"]
        + d["connect_errors"]
        + d["read_errors"]
        + d["write_errors"]
        + d["timeouts"],
        p50_ms=d["p50"] / 1000,
        p90_ms=d["p90"] / 1000,
        p95_ms=d["p95"] / 1000,
        p99_ms=d["p99"] / 1000,
        max_ms=d["max"] / 1000,
        mean_ms=d["mean"] / 1000,
    )


def cpu_note() -> str:
    if not _taskset("0"):
        return "cores: not pinned (taskset missing)"
    return (
        f"cores: uvicorn pinned to CPU {SERVER_CPU}, wrk (1 thread) to CPU {LOAD_CPU}; PostgreSQL and Redis "
        "are not pinned (shared services of this machine) and float over both"
    )


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def settle(seconds: float = 2.0) -> None:
    """A pause between runs so one server's shutdown doesn't overlap the next measurement."""
    time.sleep(seconds)


def quiet_notice() -> None:
    one, _, _ = os.getloadavg()
    if one > 1.0:
        out(f"note: load average {loadavg()} — other work is running; figures will be noisier")
