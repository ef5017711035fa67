"""Data keys: one per subject, stored wrapped in the keys database (vault.models.DataKey).

Unwrapped keys are cached per process for DATA_KEY_CACHE_SECONDS, so reading a transcript unwraps
its key once; no KDF runs per value. A missing key is cached too, so a shredded transcript is not
looked up once per line.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django_cryptography.utils.crypto import FernetBytes

from vault.keyring import DATA_KEY_BYTES, cipher_of, unwrap, wrap
from vault.models import DataKey

DATA_KEY_CACHE_SECONDS = 60
_DATA_KEY_CACHE_SIZE = 10_000


class DataKeyMissing(LookupError):
    """The data key is destroyed, unknown, or wrapped under no configured master key."""


_cache: dict[uuid.UUID, tuple[float, FernetBytes | DataKeyMissing]] = {}
_cache_lock = threading.Lock()


def _cache_put(key_id: uuid.UUID, cipher: FernetBytes | DataKeyMissing) -> None:
    with _cache_lock:
        if len(_cache) >= _DATA_KEY_CACHE_SIZE:
            now = time.monotonic()
            for stale in [k for k, (expires, _) in _cache.items() if expires <= now] or list(_cache)[
                : len(_cache) // 2
            ]:
                _cache.pop(stale, None)
        _cache[key_id] = (time.monotonic() + DATA_KEY_CACHE_SECONDS, cipher)


def forget_data_keys(key_ids: Iterable[uuid.UUID] | None = None) -> None:
    """Drop unwrapped keys from this process's cache (all of them when no ids are given)."""
    with _cache_lock:
        if key_ids is None:
            _cache.clear()
        else:
            for key_id in key_ids:
                _cache.pop(key_id, None)


def data_key_create() -> uuid.UUID:
    """A new data key, wrapped under the newest master key and stored (committed at once in the
    keys database: a subject whose transaction rolls back leaves an orphan, which
    vault.rotation.data_keys_collect_orphans removes)."""
    return data_keys_create(1)[0]


def data_keys_create(count: int, *, rotation: Any = None) -> list[uuid.UUID]:
    materials = [os.urandom(DATA_KEY_BYTES) for _ in range(count)]
    rows = [DataKey(wrapped=w, master_key_id=m, rotation=rotation) for w, m in map(wrap, materials)]
    DataKey.objects.bulk_create(rows)
    for row, material in zip(rows, materials, strict=True):
        _cache_put(row.id, cipher_of(material))
    return [row.id for row in rows]


def data_keys_destroy(key_ids: Iterable[uuid.UUID | None]) -> int:
    """Crypto-shred: delete the data keys, so that nothing encrypted under them can be read again."""
    ids = [k for k in key_ids if k is not None]
    forget_data_keys(ids)
    deleted = 0
    for start in range(0, len(ids), 1000):
        deleted += DataKey.objects.filter(id__in=ids[start : start + 1000]).delete()[0]
    return deleted


def data_key_cipher(key_id: uuid.UUID) -> FernetBytes:
    """The unwrapped cipher of a data key, cached; DataKeyMissing if it cannot be had."""
    hit = _cache.get(key_id)
    value = hit[1] if hit is not None and hit[0] > time.monotonic() else data_ciphers_load([key_id])[key_id]
    if isinstance(value, DataKeyMissing):
        raise value
    return value


def data_ciphers_load(key_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, FernetBytes | DataKeyMissing]:
    """Fetch and open these data keys in one query, and cache each result."""
    ids = list(key_ids)
    rows = {k: (w, m) for k, w, m in DataKey.objects.filter(id__in=ids).values_list("id", "wrapped", "master_key_id")}
    loaded: dict[uuid.UUID, FernetBytes | DataKeyMissing] = {}
    for key_id in ids:
        row = rows.get(key_id)
        opened = unwrap(*row) if row is not None else None
        if row is None:
            loaded[key_id] = DataKeyMissing(f"data key {key_id} does not exist (destroyed?)")
        elif opened is None:
            loaded[key_id] = DataKeyMissing(f"data key {key_id} is wrapped under no configured master key")
        else:
            loaded[key_id] = cipher_of(opened[0])
        _cache_put(key_id, loaded[key_id])
    return loaded
