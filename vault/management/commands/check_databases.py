"""Connect to every configured database directly (not through psycopg's pool, which shows a
missing database only as "PoolTimeout … couldn't get a connection" after 30 seconds) and say which
one fails and why. `--create` creates a PostgreSQL database that does not exist yet (what
`make run` does, like .ci/run); `make serve` only checks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

# Which environment variable names each database (docs/operations.md).
VARIABLES = {"default": "DATABASE_URL", "keys": "KEYS_DATABASE_URL"}


class Command(BaseCommand):
    help = "Check that every database can be reached (and, with --create, create a missing PostgreSQL one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--create", action="store_true", help="create a PostgreSQL database that does not exist")
        parser.add_argument("--timeout", type=int, default=10, help="seconds to wait for each server (default 10)")

    def handle(self, *args: Any, create: bool = False, timeout: int = 10, **options: Any) -> None:
        for alias in settings.DATABASES:
            connection = connections[alias]
            if connection.vendor != "postgresql":
                continue  # SQLite: a file made on first use (var/ by make run)
            self._check(alias, connection.get_connection_params(), create=create, timeout=timeout)
            self.stdout.write(f"{alias}: {connection.settings_dict['NAME']} reachable")

    def _check(self, alias: str, params: dict[str, Any], *, create: bool, timeout: int) -> None:
        import psycopg
        from psycopg import sql

        params = {**params, "connect_timeout": timeout}
        name, where = params["dbname"], f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
        try:
            psycopg.connect(**params).close()
            return
        except psycopg.OperationalError as exc:
            missing = "does not exist" in str(exc) and f'"{name}"' in str(exc)
            if not missing:
                raise CommandError(
                    f"The {alias} database {name!r} at {where} cannot be reached: {exc}".strip()
                ) from exc
        if not create:
            raise CommandError(
                f"The {alias} database {name!r} does not exist on {where}: create it "
                f"(createdb -h {where.split(':')[0]} {name}), or point {VARIABLES.get(alias, alias)} at another "
                "(docs/operations.md)."
            )
        try:
            with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise CommandError(
                f"The {alias} database {name!r} does not exist on {where} and could not be created: {exc}"
            ) from exc
        self.stdout.write(f"{alias}: created {name!r} on {where}")
