"""Scratch PostgreSQL databases for the benchmarks, beside the one DATABASE_URL names."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg


def url_with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def admin(base_url: str, *statements: str) -> None:
    """Run statements (CREATE/DROP DATABASE) on the server's `postgres` database."""
    with psycopg.connect(url_with_db(base_url, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def drop(base_url: str, *names: str) -> None:
    admin(base_url, *(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names))


def recreate(base_url: str, *names: str) -> None:
    drop(base_url, *names)
    admin(base_url, *(f'CREATE DATABASE "{name}"' for name in names))


def vacuum(url: str, *tables: str) -> None:
    """VACUUM ANALYZE `tables` now, after a bulk write or delete, so that autovacuum does not wake
    to do it in the middle of the next measurement."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
