"""The retention purge on PostgreSQL, against one raw SQL DELETE of the same rows, in one run.

    CONFIDANT_DEV_ENV=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/confidant \\
        .venv/bin/python bench/retention.py [--expired 1000000] [--kept 1000000] [--per 50]

Loads `--expired` messages in conversations whose last message is 200 days old and `--kept`
messages in recent ones (`--per` messages each, every conversation with its data key, rows
written by COPY), into scratch databases beside DATABASE_URL's (<name>_bench, <name>_bench_keys).
Copies the main database (CREATE DATABASE ... TEMPLATE), then, each in a fresh process:
  1. the purge (privacy.retention.purge, as the beat job runs it) on one copy;
  2. one raw SQL transaction deleting the same messages, notes and conversations on the other.
Prints both times, their ratio (target <= 1.5), and the purge process's peak memory (target
under 200 MB, flat as the backlog grows: run it with --expired 100000 and 1000000 to compare).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import scratch

ROOT = Path(__file__).resolve().parent.parent
RAW_DELETE = [  # one transaction
    "CREATE TEMP TABLE due ON COMMIT DROP AS SELECT id FROM conversations_conversation "
    "WHERE COALESCE(last_message_at, created_at) < %(cutoff)s AND NOT legal_hold",
    "DELETE FROM conversations_message WHERE conversation_id IN (SELECT id FROM due)",
    "DELETE FROM conversations_internalnote WHERE conversation_id IN (SELECT id FROM due)",
    "DELETE FROM conversations_conversation WHERE id IN (SELECT id FROM due)",
]


def _child(kind: str, main_url: str, keys_url: str) -> None:
    """Run in a fresh process: one measurement, printed as JSON."""
    os.environ.update(DATABASE_URL=main_url, KEYS_DATABASE_URL=keys_url, DATABASE_POOL="0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from privacy import retention

    start = time.perf_counter()
    if kind == "purge":
        run = retention.purge()
        counts = {"conversations": run.conversations, "messages": run.messages}
    else:
        with psycopg.connect(main_url) as conn, conn.transaction():
            for statement in RAW_DELETE:
                conn.execute(statement, {"cutoff": retention.cutoff_for()} if "%(cutoff)s" in statement else None)
        counts = {}
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, **counts}))


def _measure(kind: str, main_url: str, keys_url: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, main_url, keys_url],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _load(main_url: str, keys_url: str, expired: int, kept: int, per: int) -> None:
    os.environ.update(DATABASE_URL=main_url, KEYS_DATABASE_URL=keys_url, DATABASE_POOL="0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import backlog
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("migrate", database="keys", verbosity=0)
    backlog.load(main_url, keys_url, messages=expired, per=per, age=dt.timedelta(days=200))
    backlog.load(main_url, keys_url, messages=kept, per=per, age=dt.timedelta(days=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expired", type=int, default=1_000_000)
    parser.add_argument("--kept", type=int, default=1_000_000)
    parser.add_argument("--per", type=int, default=50, help="Messages per conversation (default 50).")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, main_url, keys_url = args.child
        if kind == "load":
            _load(main_url, keys_url, args.expired, args.kept, args.per)
        else:
            _child(kind, main_url, keys_url)
        return
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("bench/retention.py needs DATABASE_URL=postgres://... (it measures PostgreSQL)")
    name = urlsplit(base).path.lstrip("/")
    main_db, raw_db, keys_db, raw_keys = (
        f"{name}_bench",
        f"{name}_bench_raw",
        f"{name}_bench_keys",
        f"{name}_bench_raw_keys",
    )
    dbs = (main_db, raw_db, keys_db, raw_keys)
    scratch.drop(base, raw_db, raw_keys)
    scratch.recreate(base, main_db, keys_db)
    try:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--expired",
                str(args.expired),
                "--kept",
                str(args.kept),
                "--per",
                str(args.per),
                "--child",
                "load",
                scratch.url_with_db(base, main_db),
                scratch.url_with_db(base, keys_db),
            ],
            cwd=ROOT,
            check=True,
        )
        print(
            f"loaded {args.expired:,} expired and {args.kept:,} kept messages ({args.per} per conversation) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        scratch.admin(
            base,
            f'CREATE DATABASE "{raw_db}" TEMPLATE "{main_db}"',
            f'CREATE DATABASE "{raw_keys}" TEMPLATE "{keys_db}"',
        )
        purge = _measure("purge", scratch.url_with_db(base, main_db), scratch.url_with_db(base, keys_db))
        raw = _measure("raw", scratch.url_with_db(base, raw_db), scratch.url_with_db(base, raw_keys))
        print(
            f"purge (batched, with data keys destroyed): {purge['seconds']:.2f} s for {purge['conversations']:,} "
            f"conversations / {purge['messages']:,} messages; peak memory {purge['peak_mb']:.0f} MB"
        )
        print(f"one raw SQL DELETE of the same rows: {raw['seconds']:.2f} s")
        print(f"ratio purge/raw: {purge['seconds'] / raw['seconds']:.2f} (target <= 1.5); peak memory target < 200 MB")
    finally:
        scratch.drop(base, *dbs)


if __name__ == "__main__":
    main()
