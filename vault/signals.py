"""Keys derived once per process are derived again when a test changes them (override_settings)."""

from __future__ import annotations

from typing import Any

from vault import blind, datakeys, keyring


def keyring_reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        keyring.master_keys.cache_clear()
        datakeys.forget_data_keys()
    elif setting == "BLIND_INDEX_KEY":
        blind.blind_index_key.cache_clear()
