"""The retention purge seen from outside, for the chat benchmark's `purge` case: the run it records
(privacy_retentionrun) polled from PostgreSQL, a chat load for as long as it runs, the tables it
deletes from vacuumed after it, and how much of the load fell inside it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import procs
import psycopg
import scratch
from loadgen import Socket, load

# What the purge deletes from, per database (bench/backlog.py writes them).
MAIN_TABLES = ("conversations_message", "conversations_internalnote", "conversations_conversation")
KEYS_TABLES = ("vault_datakey",)
RUN = "SELECT id, status, started_at, finished_at, conversations, messages, data_keys FROM privacy_retentionrun"


def vacuum(main_url: str, keys_url: str) -> None:
    """After the backlog is written or purged: VACUUM ANALYZE what changed and CHECKPOINT, so that
    neither autovacuum nor the checkpoint that a gigabyte of WAL calls for (spread over minutes)
    writes in the middle of the next measurement."""
    scratch.vacuum(main_url, *MAIN_TABLES)
    scratch.vacuum(keys_url, *KEYS_TABLES)
    with psycopg.connect(main_url, autocommit=True) as conn:
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass  # a role without pg_checkpoint: the checkpoint comes when PostgreSQL wants it


async def last_run(conn: psycopg.AsyncConnection) -> int:
    """The id of the latest run recorded (0 for none): the next purge's is higher."""
    cursor = await conn.execute("SELECT COALESCE(MAX(id), 0) FROM privacy_retentionrun")
    row = await cursor.fetchone()
    return row[0] if row else 0


async def watch(
    conn: psycopg.AsyncConnection,
    after: int,
    started: asyncio.Event,
    finished: asyncio.Event,
    *,
    every: float = 0.05,
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Poll for the first run recorded after `after`: set `started` once it exists and `finished`
    once it no longer runs; its row. Raises if it was skipped or failed, or on `timeout`. Sets both
    events whatever happens, so that nobody waits on them forever."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while loop.time() < deadline:
            cursor = await conn.execute(f"{RUN} WHERE id > %s ORDER BY id LIMIT 1", (after,))
            found = await cursor.fetchone()
            if found is not None:
                row = dict(zip([c.name for c in cursor.description or []], found, strict=True))
                started.set()
                if row["status"] != "running":
                    if row["status"] != "done":
                        raise RuntimeError(f"the retention purge ended {row['status']}: {row}")
                    return row
            await asyncio.sleep(every)
        raise TimeoutError(f"no retention purge recorded as done within {timeout:.0f} s")
    finally:
        started.set()
        finished.set()


def overlap(window: list[float], started: float, finished: float) -> dict[str, float]:
    """How much of a load's window (first and last due times, Unix) lay inside the purge's run,
    in %, and the margins at each end in ms (negative: the load went past the purge)."""
    first, last = window
    inside = min(last, finished) - max(first, started)
    percent = 100.0 * max(0.0, inside) / (last - first) if last > first else 100.0 * (started <= first <= finished)
    return {
        "overlap_percent": percent,
        "load_start_after_purge_ms": (first - started) * 1000,
        "load_end_before_purge_end_ms": (finished - last) * 1000,
    }


async def during(
    socks: list[Socket], env: dict[str, str], *, rate: float, seconds: float, body: Callable[[int], str], drain: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send the purge as beat does (bench/chat_setup.py purge) to the product's worker, and a chat
    load from when its run is recorded until it is done (at most `seconds`); the load's figures
    and the run's (times as Unix times)."""
    async with await psycopg.AsyncConnection.connect(env["DATABASE_URL"], autocommit=True) as conn:
        after = await last_run(conn)
        started, finished = asyncio.Event(), asyncio.Event()
        watching = asyncio.create_task(watch(conn, after, started, finished))
        # Not awaited before the load: the sending process takes a second to exit, longer than a
        # small purge runs.
        sending = asyncio.create_task(asyncio.to_thread(procs.chat_setup, env, "purge"))
        await asyncio.wait([sending, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
        if sending.done() and sending.exception():
            watching.cancel()
            await sending  # raises why it could not be sent
        await started.wait()
        figures = await load(socks, rate=rate, seconds=seconds, body=body, drain=drain, until=finished)
        await sending
        row = await watching
    return figures, {
        "seconds": (row["finished_at"] - row["started_at"]).total_seconds(),
        "messages": row["messages"],
        "conversations": row["conversations"],
        "data_keys": row["data_keys"],
        "started": row["started_at"].timestamp(),
        "finished": row["finished_at"].timestamp(),
    }
