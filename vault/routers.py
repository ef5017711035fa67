"""The data keys live in their own database (settings.DATABASES["keys"]); everything else in
"default". Nothing relates across the two: subjects hold a key's id, not a foreign key."""

from __future__ import annotations

from typing import Any

KEYS_DATABASE = "keys"
# The privacy app held these models until its migration 0005: its earlier migrations still create
# and change them, in the keys database.
_FORMER_KEY_MODELS = frozenset({"datakey", "keyrotation"})


def _in_keys_database(app_label: str, model_name: str | None) -> bool:
    return app_label == "vault" or (app_label == "privacy" and (model_name or "") in _FORMER_KEY_MODELS)


class KeysRouter:
    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return KEYS_DATABASE if _in_keys_database(model._meta.app_label, model._meta.model_name) else "default"

    db_for_write = db_for_read

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        if app_label == "privacy" and model_name is None:
            # privacy's migrations hold no RunPython/RunSQL; any that did would concern its former
            # key models (this is how they were routed before the move).
            return db == KEYS_DATABASE
        return (db == KEYS_DATABASE) == _in_keys_database(app_label, model_name)
