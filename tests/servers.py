"""Real ASGI server processes (uvicorn) for integration and browser tests, serving the test
database that pytest-django created, so the test and the servers see the same rows."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connections

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(
    ready: Callable[[], object],
    *,
    what: str,
    timeout: float = 60,
    interval: float = 0.05,
    process: subprocess.Popen | None = None,
) -> None:
    """Poll `ready` until it is true; fail after `timeout`, or at once if `process` has ended."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the process ended before {what}: {output}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def test_database_url(alias: str = "default") -> str:
    """The URL of the test database pytest-django made for `alias` ("default" or "keys")."""
    conn = connections[alias]
    name = conn.settings_dict["NAME"]
    return f"sqlite:///{name}" if conn.vendor == "sqlite" else postgres_url(name)


def postgres_url(name: str) -> str:
    """The URL of database `name` on the server DATABASE_URL names."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_ALLOW_ASYNC"))}
    env.update(
        DATABASE_URL=test_database_url(),
        KEYS_DATABASE_URL=test_database_url("keys"),
        DEBUG="0",
        HTTPS="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def procfile_command(process: str = "web", procfile: str = "Procfile") -> str:
    """The command line `process` runs in the Procfile (honcho runs it through the shell)."""
    for line in (ROOT / procfile).read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise LookupError(f"no {process} process in {procfile}")


def server_log(base: str) -> Path:
    """The file that the server at `base` (from asgi_server) writes its whole output to."""
    return ROOT / "var" / f"test-server-{urlsplit(base).port}.log"


@contextmanager
def asgi_server(*, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the Procfile's web process (uvicorn, one worker) on a free port, with its options (proxy
    trust, log configuration) as production has them; yield its base URL. Its output goes to
    server_log(base)."""
    with asgi_process(extra_env=extra_env) as (base, _):
        yield base


@contextmanager
def asgi_process(*, extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """asgi_server, yielding its process too (for tests that kill it)."""
    port = free_port()
    log = open(ROOT / "var" / f"test-server-{port}.log", "wb")  # noqa: SIM115
    env = server_env(**(extra_env or {}))
    env.update(HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1")
    env.setdefault("CHAT_MAX_FRAME_BYTES", str(settings.CHAT_MAX_FRAME_BYTES))  # the Procfile's --ws-max-size
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.Popen(
        ["/bin/sh", "-c", f"exec {procfile_command()}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"ASGI server exited: {(ROOT / 'var' / f'test-server-{port}.log').read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{base}/privacy/", timeout=2):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def celery_worker(
    *, beat: bool = False, queue: str, fake_time: str | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """A real Celery worker (solo pool: tasks run in this process, so killing it kills them), with
    the database-scheduled beat if asked, on the test databases and its own queue. `fake_time`
    ("YYYY-MM-DD HH:MM:SS", UTC) starts its clock there (libfaketime): time moved, not slept."""
    log_path = ROOT / "var" / f"test-worker-{queue}.log"
    log = open(log_path, "wb")  # noqa: SIM115
    args = [sys.executable, "-m", "celery", "-A", "chatbot_site", "worker", "--pool", "solo", "-Q", queue, "-l", "INFO"]
    if beat:
        args.append("--beat")
    if fake_time:
        args = ["faketime", "-f", f"@{fake_time}", *args]
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=server_env(**{"TZ": "UTC", **(extra_env or {}), "CELERY_TASK_DEFAULT_QUEUE": queue}),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: beat's child goes with it
    )
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()
