"""`manage.py check_databases`: a missing database is named at once (not a 30-second PoolTimeout),
and created with --create (what `make run` does)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from tests import servers
from tests.chatbot_site.test_settings import PRODUCTION


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=servers.ROOT, capture_output=True, text=True, timeout=120
    )


def _dropdb(name: str) -> None:
    subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", name], check=False, timeout=60)


def test_a_missing_keys_database_is_named_at_once_and_created_on_request(requires_postgres: None) -> None:
    name = f"confidant_check_{uuid.uuid4().hex[:8]}"
    main = f"postgres://postgres@127.0.0.1:5432/{name}"
    env = {**PRODUCTION, "DATABASE_URL": main, "PATH": os.environ["PATH"]}
    try:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True, timeout=60)
        started = time.monotonic()
        run = _manage("check_databases", env=env)
        assert run.returncode == 1
        assert f"The keys database '{name}_keys' does not exist on 127.0.0.1:5432" in run.stderr
        assert "KEYS_DATABASE_URL" in run.stderr and "PoolTimeout" not in run.stderr
        assert time.monotonic() - started < 25  # not psycopg's pool timeout (30 s)
        run = _manage("check_databases", "--create", env=env)
        assert run.returncode == 0 and f"keys: created '{name}_keys'" in run.stdout, run.stderr
        run = _manage("check_databases", env=env)
        assert run.returncode == 0 and f"keys: {name}_keys reachable" in run.stdout
    finally:
        _dropdb(f"{name}_keys")
        _dropdb(name)


def test_an_unreachable_server_is_named(requires_postgres: None) -> None:
    env = {**PRODUCTION, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{servers.free_port()}/nowhere"}
    run = _manage("check_databases", "--timeout", "3", env=env)
    assert run.returncode == 1 and "The default database 'nowhere' at 127.0.0.1:" in run.stderr


@pytest.mark.parametrize("garbage", ["--timeout=abc", "--nonsense"])
def test_bad_arguments_are_a_clear_error(garbage: str) -> None:
    run = _manage("check_databases", garbage, env=PRODUCTION)
    assert run.returncode == 2 and "error" in run.stderr
