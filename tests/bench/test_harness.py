"""`make bench` end to end on a tiny load: the harness starts the real processes (product and
bare relay, the product's Celery worker), runs the chat cases once, and writes figures that make
sense; the purge case on --quick's backlog of 50,000 messages (about 15 s more: the backlog's and
the purge's processes each start Django)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.servers import ROOT, postgres_url

pytestmark = pytest.mark.integration


def _drop(*names: str) -> None:
    with psycopg.connect(postgres_url("postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_quick_run_reports_every_message(requires_redis: None, requires_postgres: None, tmp_path: Path) -> None:
    name = f"smoke_bench_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url(name),
        "CHANNEL_LAYER_PREFIX": f"benchsmoke{uuid.uuid4().hex[:6]}",
        "CELERY_TASK_DEFAULT_QUEUE": f"benchsmoke-{uuid.uuid4().hex[:6]}",
    }
    env.pop("KEYS_DATABASE_URL", None)
    try:
        done = subprocess.run(
            [
                sys.executable,
                "bench/chat.py",
                "--quick",
                "--rounds",
                "1",
                "--cases",
                "b,c,purge",
                "--out",
                str(tmp_path),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        _drop(name, f"{name}_keys")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    chat = json.loads(next(tmp_path.glob("*-chat.json")).read_text())
    relay = json.loads(next(tmp_path.glob("*-relay.json")).read_text())
    assert chat["machine"]["cores"] and chat["machine"]["commit"]
    for data, series in ((chat, ("ack", "echo")), (relay, ("ack", "echo", "agent"))):
        for target in ("product", "bare"):
            (figures,) = data["runs"]["1"][target]
            assert figures["sent"] > 0
            assert (figures["lost"], figures["duplicates"], figures["out_of_order"], figures["errors"]) == (0, 0, 0, 0)
            for name_ in series:
                assert 0 < figures[name_]["p50"] <= figures[name_]["p99"], (target, name_, figures[name_])
    (purge,) = json.loads(next(tmp_path.glob("*-purge.json")).read_text())["runs"]["1"]["product"]
    assert purge["purge"]["messages"] == purge["backlog"] == 50_000
    assert purge["overlap_percent"] > 50, purge  # the load ran while the purge did
    for step in ("quiet", "purging"):
        assert purge[step]["sent"] > 0
        assert (purge[step]["lost"], purge[step]["duplicates"], purge[step]["errors"]) == (0, 0, 0)
    assert purge["ratio"]["ack_p99"] > 0
    summary = next(tmp_path.glob("*-summary.md")).read_text()
    assert "| 1 | chat | ack p50, ms |" in summary
    assert "| 1 | purge | ack p99 during/without purge (target ≤ 1.5) |" in summary
