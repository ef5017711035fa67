"""Where a database lives, normalised, to tell whether two settings name the same one (or the
same server) however they are spelled: `localhost` or `127.0.0.1`, with or without the port."""

from __future__ import annotations

from pathlib import Path

_LOCAL = {"", "localhost", "127.0.0.1", "::1", "[::1]"}
_DEFAULT_PORTS = {"postgresql": "5432", "mysql": "3306"}


def server(db: dict) -> tuple[str, str, str]:
    engine = db["ENGINE"]
    family = "postgresql" if "postgis" in engine or "postgresql" in engine else engine.rsplit(".", 1)[-1]
    host = str(db.get("HOST") or "").lower()
    host = "local" if host in _LOCAL or host.startswith("/") else host
    port = str(db.get("PORT") or "") or _DEFAULT_PORTS.get(family, "")
    return family, host, port


def place(db: dict) -> tuple[str, str, str, str]:
    family, host, port = server(db)
    name = str(db["NAME"])
    if family == "sqlite3":
        name = str(Path(name).resolve())
    return family, host, port, name
