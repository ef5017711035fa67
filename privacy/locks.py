"""A named lock held by one process at a time, released when that process dies (so a killed
worker never leaves it stuck): a PostgreSQL session advisory lock, or a file lock (flock) beside
the SQLite database."""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections


@contextmanager
def exclusive(name: str, using: str = "default") -> Iterator[bool]:
    """Yield True while holding the lock, or False at once if another process holds it."""
    conn = connections[using]
    if conn.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"confidant:{name}".encode()).digest()[:8], "big", signed=True)
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            held = bool(cursor.fetchone()[0])
        try:
            yield held
        finally:
            if held:
                try:
                    with conn.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
                except Exception:
                    # Never hand a connection that still holds the lock back to the pool.
                    conn.close()
                    raise
        return
    path = settings.VAR_DIR / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
