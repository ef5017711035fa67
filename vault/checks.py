"""`manage.py check --deploy`: warn when the key database shares the main database's server."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

from chatbot_site import dbplace


@register(Tags.security, deploy=True)
def keys_database_apart(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    main, keys = dbplace.server(settings.DATABASES["default"]), dbplace.server(settings.DATABASES["keys"])
    if main != keys or main[0] == "sqlite3":
        return []
    return [
        Warning(
            "The data keys' database is on the same server as the main database.",
            hint=(
                "Server-wide backups (snapshots, point-in-time recovery, pg_dumpall) would keep both together for "
                "as long as either, so a deleted customer's data could be recovered from them. Keep the key "
                "database's backups apart and short, or move it (KEYS_DATABASE_URL); see docs/operations.md."
            ),
            id="vault.W001",
        )
    ]
