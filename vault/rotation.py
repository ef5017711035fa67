"""Operating the keys: re-wrap data keys under the newest master key, re-key subjects' contents,
collect orphaned data keys, and tell which master keys are still needed.

Everything here works in bounded batches, each its own short transaction, so it runs beside live
traffic and can be killed at any moment: a rerun picks up what is left (manage.py
rotate_encryption_keys; docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.services import record
from vault.datakeys import DataKeyMissing, data_ciphers_load, data_keys_create, data_keys_destroy
from vault.envelope import LEGACY, UnreadableText, encrypt_for
from vault.fields import DataKeyDependent, DataKeyOwner, EncryptedTextField
from vault.keyring import master_keys, unwrap, wrap
from vault.models import DataKey, KeyRotation

Progress = Callable[[int], None]


def _noop(_: int) -> None:
    return None


def _batched(iterable: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# --- what is encrypted where ----------------------------------------------------------------
def encrypted_fields(model: type[models.Model]) -> list[str]:
    return sorted(f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField))


def subject_models() -> list[type[DataKeyOwner]]:
    return [m for m in apps.get_models() if issubclass(m, DataKeyOwner)]


def dependents_of(owner: type[DataKeyOwner]) -> list[tuple[type[DataKeyDependent], str]]:
    """(model, name of its foreign key to the owner) for each model whose values are the owner's."""
    found = []
    for model in apps.get_models():
        if issubclass(model, DataKeyDependent):
            fk = model._meta.get_field(model.data_key_owner_field)
            if fk.related_model is owner:
                found.append((model, fk.attname))
    return found


def referenced_key_ids(key_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(key_ids)
    used: set[uuid.UUID] = set()
    for model in subject_models():
        used.update(model._base_manager.filter(data_key_id__in=ids).values_list("data_key_id", flat=True))
    return used


# --- master keys: re-wrap data keys -------------------------------------------------------
@dataclass
class RewrapResult:
    rewrapped: int = 0
    opened_by: Counter[str] = field(default_factory=Counter)  # master key fingerprint -> data keys
    unopenable: list[uuid.UUID] = field(default_factory=list)


def data_keys_not_under_newest() -> models.QuerySet[DataKey]:
    return DataKey.objects.exclude(master_key_id=master_keys()[0].fingerprint)


def data_keys_rewrap(*, batch_size: int = 500, pause: float = 0.0, progress: Progress = _noop) -> RewrapResult:
    """Re-wrap every data key not yet under the newest master key. Contents are not touched. The
    run is recorded in the audit trail with its counts ("failed" when keys were left unopened)."""
    result = RewrapResult()
    after: uuid.UUID | None = None
    while True:
        pending = data_keys_not_under_newest().order_by("id")
        if after is not None:
            pending = pending.filter(id__gt=after)
        rows = list(pending.values_list("id", "wrapped", "master_key_id")[:batch_size])
        if not rows:
            record(
                Action.KEYS_ROTATED,
                outcome=Outcome.FAILED if result.unopenable else Outcome.OK,
                details={
                    "step": "rewrap",
                    "newest_master_key": master_keys()[0].fingerprint,
                    "rewrapped": result.rewrapped,
                    "unopenable": len(result.unopenable),
                },
            )
            return result
        after = rows[-1][0]
        updates = []
        for key_id, wrapped, master_key_id in rows:
            opened = unwrap(wrapped, master_key_id)
            if opened is None:
                result.unopenable.append(key_id)
                continue
            material, master = opened
            result.opened_by[master.fingerprint] += 1
            new_wrapped, new_master = wrap(material)
            updates.append((new_wrapped, new_master, key_id))
        with transaction.atomic(using=DataKey.objects.db):
            _update_many(DataKey, "wrapped", [(w, k) for w, _, k in updates])
            _update_many(DataKey, "master_key_id", [(m, k) for _, m, k in updates])
        result.rewrapped += len(updates)
        progress(len(rows))
        if pause:
            time.sleep(pause)


@dataclass
class MasterKeyUse:
    position: int
    fingerprint: str
    wraps: int


def master_key_usage() -> tuple[list[MasterKeyUse], int]:
    """How many data keys each configured master key wraps now, and how many are wrapped under
    a key that is not configured (their subjects cannot be read)."""
    counts = dict(DataKey.objects.values_list("master_key_id").annotate(n=models.Count("id")).order_by())
    configured = master_keys()
    uses = [MasterKeyUse(m.position, m.fingerprint, counts.pop(m.fingerprint, 0)) for m in configured]
    return uses, sum(counts.values())


def legacy_values_count() -> int:
    """Values written before data keys, directly under a master key (development databases):
    only `--data` moves them, and until then they need their master key."""
    total = 0
    for model, name in ((m, n) for m in apps.get_models() for n in encrypted_fields(m)):
        conn = connections[router.db_for_read(model)]
        column, table = (
            conn.ops.quote_name(model._meta.get_field(name).column),
            conn.ops.quote_name(model._meta.db_table),
        )
        first_byte = f"substring({column} from 1 for 1)" if conn.vendor == "postgresql" else f"substr({column}, 1, 1)"
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {first_byte} = %s", [LEGACY])  # noqa: S608
            total += cursor.fetchone()[0]
    return total


# --- data keys: re-key subjects' contents ------------------------------------------------------
@dataclass
class RekeyResult:
    subjects: int = 0
    values: int = 0
    unreadable_values: int = 0  # damaged or already unreadable: left exactly as they were
    subjects_without_key: int = 0  # their key is destroyed (shredded) or lost: nothing to re-key
    subjects_unopenable: int = 0  # their key is wrapped under a master key not configured here: left alone
    old_keys_destroyed: int = 0


HEARTBEAT_TIMEOUT = dt.timedelta(minutes=10)
MAX_PAUSE_SECONDS = 60.0  # well inside the heartbeat timeout


class RotationBusy(RuntimeError):
    """Another process holds the `--data` run (its heartbeat is recent)."""


def rotation_run(*, take_over: bool = False) -> tuple[KeyRotation, bool]:
    """Take the unfinished `--data` run, or start one; (run, resumed). Refuses while another
    process holds it (two runs at once would destroy each other's new keys), unless told to take
    over from one known to be dead."""
    holder, now = uuid.uuid4().hex, timezone.now()
    with transaction.atomic(using=KeyRotation.objects.db):
        run = KeyRotation.objects.select_for_update().filter(finished_at__isnull=True).order_by("started_at").first()
        if run is None:
            try:
                with transaction.atomic(using=KeyRotation.objects.db):
                    return KeyRotation.objects.create(started_at=now, holder=holder, heartbeat_at=now), False
            except IntegrityError as exc:  # another process started one at the same moment
                raise RotationBusy("another rotate_encryption_keys --data has just started; wait for it") from exc
        if not take_over and run.holder and run.heartbeat_at and now - run.heartbeat_at < HEARTBEAT_TIMEOUT:
            raise RotationBusy(
                f"another rotate_encryption_keys --data is running (run started {run.started_at:%Y-%m-%d %H:%M}, "
                f"last heartbeat {(now - run.heartbeat_at).seconds} s ago). Wait for it to finish; if that "
                f"process is dead, wait {HEARTBEAT_TIMEOUT.seconds // 60} minutes or rerun with --take-over"
            )
        run.holder, run.heartbeat_at = holder, now
        run.save(update_fields=["holder", "heartbeat_at"])
        return run, True


def _heartbeat(run: KeyRotation) -> None:
    """Renew the hold on the run; stop if another process has taken it over."""
    renewed = KeyRotation.objects.filter(pk=run.pk, holder=run.holder).update(heartbeat_at=timezone.now())
    if not renewed:
        raise RotationBusy("another process took over this rotation run; stopping")


def subjects_count() -> int:
    return sum(model._base_manager.count() for model in subject_models())


def _update_many(model: type[models.Model], field_name: str, rows: list[tuple[Any, Any]]) -> None:
    """UPDATE one column of many rows by primary key, in one round of statements (executemany:
    pipelined on PostgreSQL), instead of bulk_update's CASE expression per row."""
    if not rows:
        return
    conn = connections[router.db_for_write(model)]
    field, pk = model._meta.get_field(field_name), model._meta.pk
    quote = conn.ops.quote_name
    sql = f"UPDATE {quote(model._meta.db_table)} SET {quote(field.column)} = %s WHERE {quote(pk.column)} = %s"  # noqa: S608
    params = [(field.get_db_prep_value(v, conn), pk.get_db_prep_value(k, conn)) for v, k in rows]
    with conn.cursor() as cursor:
        cursor.executemany(sql, params)


def _reencrypt(
    model: type[models.Model], owner_attname: str, new_keys: dict[Any, uuid.UUID], result: RekeyResult
) -> None:
    """Re-encrypt the given owners' values in `model` under each owner's new key."""
    fields = encrypted_fields(model)
    if not fields:
        return
    rows = model._base_manager.filter(**{f"{owner_attname}__in": list(new_keys)}).order_by("pk")
    for chunk in _batched(rows.values_list("pk", owner_attname, *fields).iterator(chunk_size=1000), 1000):
        for position, name in enumerate(fields, start=2):
            updates = []
            for row in chunk:
                value = row[position]
                if isinstance(value, UnreadableText):
                    result.unreadable_values += 1  # damaged: left exactly as it was
                elif value is not None:
                    updates.append((encrypt_for(new_keys[row[1]], value), row[0]))
            _update_many(model, name, updates)
            result.values += len(updates)


def _openable(key_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these data keys this process can open (one query; the results are cached)."""
    return {key_id for key_id, cipher in data_ciphers_load(key_ids).items() if not isinstance(cipher, DataKeyMissing)}


def subjects_rekey_batch(model: type[DataKeyOwner], pks: list[Any], run: KeyRotation, result: RekeyResult) -> None:
    """Give each subject a new data key and re-encrypt its values (and its dependents') under it,
    in one transaction holding the subjects' row locks. The keys replaced are marked for the run
    to destroy when it finishes."""
    new = dict(zip(pks, data_keys_create(len(pks), rotation=run), strict=True))
    with transaction.atomic():
        locked = model._base_manager.select_for_update().filter(pk__in=pks).order_by("pk")
        old = dict(locked.values_list("pk", "data_key_id"))
        gone = [new.pop(pk) for pk in pks if pk not in old]  # deleted meanwhile
        # A key this process cannot open (its master key is not configured here): re-keying would
        # turn readable values into "damaged" ones and destroy the only key that opens them.
        openable = _openable(k for k in old.values() if k is not None)
        unopenable = [pk for pk, key_id in old.items() if key_id is not None and key_id not in openable]
        gone += [new.pop(pk) for pk in unopenable]
        result.subjects_unopenable += len(unopenable)
        old = {pk: key_id for pk, key_id in old.items() if pk in new}
        # Marked before the commit (another database): should the process die in between, the
        # mark is harmless (a key still referred to is never destroyed) and nothing is missed.
        DataKey.objects.filter(id__in=[k for k in old.values() if k]).update(retired_by=run)
        _reencrypt(model, "pk", new, result)
        for dependent, fk_attname in dependents_of(model):
            _reencrypt(dependent, fk_attname, new, result)
        _update_many(model, "data_key_id", [(key_id, pk) for pk, key_id in new.items()])
    data_keys_destroy(gone)
    result.subjects += len(new)


def subjects_rekey(
    run: KeyRotation, *, batch_size: int = 100, pause: float = 0.0, progress: Progress = _noop
) -> RekeyResult:
    """Re-key every subject whose data key the run has not made yet, `batch_size` subjects per
    transaction. Resumable: a subject re-keyed before an interruption is skipped."""
    result = RekeyResult()
    for model in subject_models():
        after: Any = None
        while True:
            pending = model._base_manager.order_by("pk")
            if after is not None:
                pending = pending.filter(pk__gt=after)
            batch = list(pending.values_list("pk", "data_key_id")[:batch_size])
            if not batch:
                break
            after = batch[-1][0]
            made_by = dict(DataKey.objects.filter(id__in=[k for _, k in batch if k]).values_list("id", "rotation_id"))
            due = []
            for pk, key_id in batch:
                if key_id is not None and key_id not in made_by:
                    result.subjects_without_key += 1
                elif key_id is None or made_by[key_id] != run.pk:
                    due.append(pk)
            if due:
                subjects_rekey_batch(model, due, run, result)
            _heartbeat(run)
            progress(len(batch))
            if pause:
                time.sleep(pause)
    return result


def rotation_finish(run: KeyRotation, result: RekeyResult) -> None:
    """Destroy the keys the run replaced, and any it made but never used (an interrupted attempt),
    provided nothing refers to them any more. Keeps the run's hold while it works, and never
    touches a key made after it began (a process that took the run over may be using it). The
    finished run is recorded in the audit trail with the counts of `result` (this process's part
    of it, when it resumed an interrupted run)."""
    began = timezone.now()
    result.old_keys_destroyed = _destroy_unreferenced(
        DataKey.objects.filter(models.Q(retired_by=run) | models.Q(rotation=run, created_at__lt=began)),
        before_each_page=lambda: _heartbeat(run),
    )
    _heartbeat(run)
    run.finished_at, run.unfinished = timezone.now(), None
    run.save(update_fields=["finished_at", "unfinished"])
    record(
        Action.KEYS_ROTATED,
        obj=run,
        details={
            "step": "data",
            "subjects": result.subjects,
            "values": result.values,
            "old_keys_destroyed": result.old_keys_destroyed,
            "unreadable_values": result.unreadable_values,
            "subjects_unopenable": result.subjects_unopenable,
            "subjects_without_key": result.subjects_without_key,
        },
    )


# --- orphans ----------------------------------------------------------------------------------
ORPHAN_GRACE = dt.timedelta(hours=1)


def data_keys_collect_orphans(*, created_before: dt.datetime | None = None) -> int:
    """Destroy data keys no subject refers to: left by a transaction that rolled back, a process
    that died between deleting a subject and destroying its key, or an interrupted re-keying.
    Only keys older than `created_before` (default: an hour ago), so a subject being created keeps
    its new key."""
    return _destroy_unreferenced(DataKey.objects.filter(created_at__lt=created_before or timezone.now() - ORPHAN_GRACE))


def _destroy_unreferenced(
    candidates: models.QuerySet[DataKey], batch_size: int = 1000, before_each_page: Callable[[], None] = lambda: None
) -> int:
    destroyed = 0
    after: uuid.UUID | None = None
    while True:
        before_each_page()
        page = candidates.order_by("id")
        if after is not None:
            page = page.filter(id__gt=after)
        ids = list(page.values_list("id", flat=True)[:batch_size])
        if not ids:
            return destroyed
        after = ids[-1]
        used = referenced_key_ids(ids)
        destroyed += data_keys_destroy([i for i in ids if i not in used])
