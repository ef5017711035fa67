"""Private Redis and PostgreSQL servers on free ports, for tests that restart a service: the
machine's shared ones are never stopped (other test runs use them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import free_port, wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _ok(*command: str) -> bool:
    return subprocess.run(command, capture_output=True, check=False).returncode == 0  # noqa: S603


@dataclass
class PrivateRedis:
    port: int
    directory: str
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _ok("redis-cli", "-p", str(self.port), "ping"), what="Redis", process=self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Stop and start again, empty (no persistence: group memberships are gone, as after a
        failover to a fresh replica)."""
        self.stop()
        self.start()


@contextmanager
def redis_server() -> Iterator[PrivateRedis]:
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server (apt-get install redis-server)")
    with tempfile.TemporaryDirectory() as directory:
        redis = PrivateRedis(port=free_port(), directory=directory)
        redis.start()
        try:
            yield redis
        finally:
            redis.stop()


@dataclass
class PrivatePostgres:
    port: int
    data: str
    sockets: str

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def _ctl(self, *args: str, check: bool = True) -> None:
        run = subprocess.run(  # noqa: S603
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", self.data, "-w", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and run.returncode:
            log = Path(self.data, "log")
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise AssertionError(f"pg_ctl {' '.join(args)} failed: {run.stdout}{run.stderr}\n{tail}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", f"{self.data}/log", "start")

    def stop(self, *, check: bool = True) -> None:
        self._ctl("-m", "fast", "stop", check=check)


@contextmanager
def postgres_server() -> Iterator[PrivatePostgres]:
    """A fresh cluster (trust authentication on loopback) run by the postgres system user."""
    if not (PG_BIN / "initdb").exists() or not shutil.which("runuser"):
        pytest.skip(f"needs PostgreSQL 15's server binaries in {PG_BIN}")
    root = tempfile.mkdtemp(prefix="confidant-pg-")
    os.chmod(root, 0o755)  # noqa: S103 (the postgres user must reach its folders inside)
    data, sockets = f"{root}/data", f"{root}/run"
    for folder in (data, sockets):
        os.mkdir(folder, 0o700)
        shutil.chown(folder, "postgres")
    subprocess.run(  # noqa: S603
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", data, "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    server = PrivatePostgres(port=free_port(), data=data, sockets=sockets)
    server.start()
    try:
        yield server
    finally:
        server.stop(check=False)  # it may be stopped already (a test that failed while it was down)
        shutil.rmtree(root, ignore_errors=True)
