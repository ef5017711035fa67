"""Encryption at rest for personal data: envelope encryption on django-cryptography's primitives.

Master keys: settings.FIELD_ENCRYPTION_KEYS, newest first. Each is expanded once per process with
HKDF into an AES-256 key and an HMAC-SHA256 key and used through django-cryptography's
`FernetBytes` with an explicitly keyed `FernetSigner` (the library's default signer would use
SECRET_KEY, tying stored data to it). Master keys encrypt only data keys.

Data keys: 64 random bytes per subject (a user, a conversation: DataKeyOwner), stored wrapped
under the newest master key in the separate `keys` database (privacy.models.DataKey). Every
encrypted value belongs to a subject, its own or its owner's (DataKeyDependent), and is stored as

    b"\\x02" + data key id (16 bytes) + FernetBytes token

so a value names its key: decrypting needs no model context, and rotation can find what is where.
Destroying a data key (data_keys_destroy) makes its subject's values unreadable everywhere, backups
of the main database included: crypto-shredding.

Unwrapped data keys are cached per process for DATA_KEY_CACHE_SECONDS, so reading a transcript
unwraps its key once; no KDF runs per value. A value that cannot be decrypted (flipped byte,
destroyed or unknown key) is logged without its content and read as UNREADABLE, so a page or a
frame shows a placeholder instead of failing.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django import forms
from django.conf import settings
from django.core import validators
from django.core.signing import BadSignature
from django.db import connections, models, router, transaction
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken

logger = logging.getLogger(__name__)

_HKDF_INFO = b"confidant field encryption v1"
_FINGERPRINT_INFO = b"confidant master key id v1"
_BLIND_INDEX_INFO = b"confidant blind index v1:"
_ENVELOPE = b"\x02"
_LEGACY = b"\x80"  # FernetBytes' own version byte: a token with no envelope
_HEADER_LENGTH = 1 + 16
DATA_KEY_BYTES = 64
DATA_KEY_CACHE_SECONDS = 60
_DATA_KEY_CACHE_SIZE = 10_000
_DECRYPT_ERRORS = (BadSignature, InvalidToken, UnicodeDecodeError, ValueError, TypeError)


class UnreadableText(str):
    """The value of an encrypted field that could not be decrypted."""


UNREADABLE = UnreadableText("[unreadable]")


class Ciphertext(bytes):
    """An already encrypted value (from rotation): an encrypted field stores it as it is."""


class DataKeyMissing(LookupError):
    """The data key is destroyed, unknown, or wrapped under no configured master key."""


# --- master keys ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MasterKey:
    position: int  # 1-based place in FIELD_ENCRYPTION_KEYS (1 = newest)
    fingerprint: str  # keyed hash of the key: safe to store and to print
    cipher: FernetBytes


def _cipher(material: bytes) -> FernetBytes:
    return FernetBytes(key=material[:32], signer=FernetSigner(key=material[32:]))


def _master(position: int, key: bytes) -> MasterKey:
    material = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_HKDF_INFO).derive(key)
    fingerprint = hmac.new(key, _FINGERPRINT_INFO, hashlib.sha256).hexdigest()[:16]
    return MasterKey(position, fingerprint, _cipher(material))


@functools.cache
def master_keys() -> tuple[MasterKey, ...]:
    """The configured master keys, newest first, derived once per process."""
    return tuple(_master(i, key) for i, key in enumerate(settings.FIELD_ENCRYPTION_KEYS, start=1))


def unwrap(wrapped: bytes, master_key_id: str = "") -> tuple[bytes, MasterKey] | None:
    """A data key's material and the master key that opened it; None if none does."""
    keyring = master_keys()
    # The recorded master key first; then every key, in case the record is stale.
    ordered = sorted(keyring, key=lambda m: m.fingerprint != master_key_id)
    for master in ordered:
        try:
            material = master.cipher.decrypt(bytes(wrapped))
        except _DECRYPT_ERRORS:
            continue
        if len(material) == DATA_KEY_BYTES:
            return material, master
    return None


def wrap(material: bytes) -> tuple[bytes, str]:
    newest = master_keys()[0]
    return newest.cipher.encrypt(material), newest.fingerprint


# --- data keys ------------------------------------------------------------------------------
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


def reset_keyring_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        master_keys.cache_clear()
        forget_data_keys()
    elif setting == "BLIND_INDEX_KEY":
        _blind_index_key.cache_clear()


def data_key_create() -> uuid.UUID:
    """A new data key, wrapped under the newest master key and stored (committed at once in the
    keys database: a subject whose transaction rolls back leaves an orphan, which
    privacy.keys.data_keys_collect_orphans removes)."""
    return data_keys_create(1)[0]


def data_keys_create(count: int, *, rotation: Any = None) -> list[uuid.UUID]:
    from privacy.models import DataKey

    materials = [os.urandom(DATA_KEY_BYTES) for _ in range(count)]
    rows = [DataKey(wrapped=w, master_key_id=m, rotation=rotation) for w, m in map(wrap, materials)]
    DataKey.objects.bulk_create(rows)
    for row, material in zip(rows, materials, strict=True):
        _cache_put(row.id, _cipher(material))
    return [row.id for row in rows]


def data_keys_destroy(key_ids: Iterable[uuid.UUID | None]) -> int:
    """Crypto-shred: delete the data keys, so that nothing encrypted under them can be read again."""
    from privacy.models import DataKey

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
    """Fetch and open these data keys in one query, and cache each result: a missing key too,
    so a shredded transcript is not looked up once per line."""
    from privacy.models import DataKey

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
            loaded[key_id] = _cipher(opened[0])
        _cache_put(key_id, loaded[key_id])
    return loaded


# --- values ---------------------------------------------------------------------------------
def encrypt_for(key_id: uuid.UUID, text: str) -> Ciphertext:
    return Ciphertext(_ENVELOPE + key_id.bytes + data_key_cipher(key_id).encrypt(text.encode("utf-8")))


def key_id_of(raw: bytes) -> uuid.UUID | None:
    """The data key a stored value names, or None for a value in no known format."""
    if len(raw) > _HEADER_LENGTH and raw[:1] == _ENVELOPE:
        return uuid.UUID(bytes=bytes(raw[1:_HEADER_LENGTH]))
    return None


def decrypt(raw: bytes) -> str:
    """Decrypt a stored value; raises DataKeyMissing or one of _DECRYPT_ERRORS."""
    raw = bytes(raw)
    key_id = key_id_of(raw)
    if key_id is not None:
        return data_key_cipher(key_id).decrypt(raw[_HEADER_LENGTH:]).decode("utf-8")
    if raw[:1] == _LEGACY:
        # Written before data keys, directly under a master key (development databases only):
        # still read; `rotate_encryption_keys --data` moves such values under data keys.
        for master in master_keys():
            try:
                return master.cipher.decrypt(raw).decode("utf-8")
            except _DECRYPT_ERRORS:
                continue
    raise InvalidToken


def decrypt_or_placeholder(raw: bytes, *, label: str = "value") -> str:
    try:
        return decrypt(raw)
    except DataKeyMissing as exc:
        logger.warning("encrypted %s is unreadable: %s", label, exc)
    except _DECRYPT_ERRORS:
        logger.warning("encrypted %s could not be decrypted (damaged, or under no configured key)", label)
    return UNREADABLE


# --- blind indexes --------------------------------------------------------------------------
def normalize_email(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower()


_NORMALIZERS = {"email": normalize_email}


@functools.cache
def _blind_index_key(purpose: str) -> bytes:
    info = _BLIND_INDEX_INFO + purpose.encode("ascii")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(settings.BLIND_INDEX_KEY)


def blind_index(purpose: str, value: str) -> str | None:
    """The keyed hash of a normalised value (None for an empty one): equal for the same address
    however it is cased or spaced, and useless without BLIND_INDEX_KEY."""
    normalized = _NORMALIZERS[purpose](value or "")
    if not normalized:
        return None
    return hmac.new(_blind_index_key(purpose), normalized.encode("utf-8"), hashlib.sha256).hexdigest()


# --- model fields ---------------------------------------------------------------------------
class DataKeyField(models.UUIDField):
    """The id of a subject's data key (in the keys database: no foreign key). Filled on save: the
    first of the row's fields to need the key creates it, and this column stores it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(null=True, blank=True, editable=False, db_index=True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for key in ("null", "blank", "editable", "db_index"):
            kwargs.pop(key, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        return model_instance.encryption_key_id()


class DataKeyOwner(models.Model):
    """A subject with its own data key: a customer (any user) or a conversation. Values of
    dependent rows (a conversation's messages) are encrypted under the owner's key."""

    data_key_id = DataKeyField()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        """An existing row writes its encrypted values under the data key it has *now*, read under
        its row lock: an instance loaded before `rotate_encryption_keys --data` re-keyed it must
        not write under (or put back) the old key, which that run destroys."""
        update_fields = kwargs.get("update_fields")
        if (
            self._state.adding
            or self.pk is None
            or (update_fields is not None and not _keyed(type(self)) & set(update_fields))
        ):
            super().save(*args, **kwargs)
            return
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        no_key = connections[using].features.has_select_for_no_key_update  # inserts referring to the row go on
        with transaction.atomic(using=using):
            current = (
                type(self)
                ._base_manager.select_for_update(no_key=no_key)
                .filter(pk=self.pk)
                .values_list("data_key_id", flat=True)
            )
            row = list(current)
            if row and row[0] is not None:
                self.data_key_id = row[0]
            super().save(*args, **kwargs)

    def encryption_key_id(self) -> uuid.UUID:
        if self.data_key_id is not None:
            return self.data_key_id
        new = data_key_create()
        if self._state.adding:
            self.data_key_id = new
            return new
        # A row from before data keys: give it one, unless another process just did.
        manager = type(self)._base_manager
        manager.filter(pk=self.pk, data_key_id__isnull=True).update(data_key_id=new)
        current = manager.filter(pk=self.pk).values_list("data_key_id", flat=True).first()
        if current != new:
            data_keys_destroy([new])
        self.data_key_id = current or new
        return self.data_key_id


@functools.cache
def _keyed(model: type[models.Model]) -> frozenset[str]:
    """A model's fields written under its data key (worked out once, not on every save)."""
    return frozenset(f.name for f in model._meta.concrete_fields if isinstance(f, (EncryptedTextField, DataKeyField)))


def note_key_before_delete(sender: type, instance: DataKeyOwner, using: str, **kwargs: Any) -> None:
    """The key the row has in the database (the instance may be older than a re-keying)."""
    row = type(instance)._base_manager.using(using).filter(pk=instance.pk).values_list("data_key_id", flat=True)
    instance._data_key_ids_at_delete = {instance.data_key_id, *row} - {None}


def destroy_key_on_delete(sender: type, instance: DataKeyOwner, using: str, **kwargs: Any) -> None:
    """A deleted subject's data key goes once the deletion commits (before, a rollback would leave
    rows no key opens). Should the process die in between, data_keys_collect_orphans finds it."""
    key_ids = getattr(instance, "_data_key_ids_at_delete", {instance.data_key_id} - {None})
    if key_ids:
        transaction.on_commit(lambda: data_keys_destroy(key_ids), using=using, robust=True)


class DataKeyDependent(models.Model):
    """A row whose values are its owner's data (a message of a conversation): encrypted under the
    owner's key. Write such rows while holding the owner's row lock (as conversations.services
    does), so a concurrent `rotate_encryption_keys --data` cannot re-key the owner in between."""

    data_key_owner_field: str = ""

    class Meta:
        abstract = True

    def encryption_key_id(self) -> uuid.UUID:
        return getattr(self, self.data_key_owner_field).encryption_key_id()


class EncryptedTextField(models.BinaryField):
    """Text stored encrypted under its row's data key (`instance.encryption_key_id()`).

    Written only through model instances (save, bulk_create): a `QuerySet.update()` with text is
    refused, as are all lookups but `isnull`; filter on plaintext metadata or a blind index.
    """

    description = "Encrypted text"
    empty_values = [*validators.EMPTY_VALUES, b""]
    form_class: type[forms.Field] = forms.CharField
    widget: type[forms.Widget] | None = forms.Textarea

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def get_default(self) -> Any:
        if self.has_default() or self.null:
            return super().get_default()
        return ""

    def get_lookup(self, lookup_name: str) -> Any:
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None or isinstance(value, Ciphertext):
            return value
        if isinstance(value, UnreadableText):
            raise ValueError(f"refusing to overwrite an unreadable {self.name} with its placeholder")
        if not isinstance(value, str):
            raise TypeError(f"{self.model._meta.label}.{self.name} holds text, not {type(value).__name__}")
        return encrypt_for(model_instance.encryption_key_id(), value)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None or isinstance(value, Ciphertext) or value == b"":  # b"": a migration's fill
            return super().get_db_prep_value(value, connection, prepared)
        raise TypeError(
            f"{self.model._meta.label}.{self.name} is encrypted: write it through a model instance "
            "(save or bulk_create), not QuerySet.update() or a lookup"
        )

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        if not value:
            return ""
        return decrypt_or_placeholder(value, label=f"{self.model._meta.label}.{self.name}")

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: models.Model) -> str:
        # Serialization (dumpdata) must not write plaintext out.
        raise NotImplementedError("encrypted fields are not serialized")

    def formfield(self, **kwargs: Any) -> forms.Field:
        defaults: dict[str, Any] = {"form_class": self.form_class, "max_length": self.max_length}
        if self.widget is not None:
            defaults["widget"] = self.widget
        return models.Field.formfield(self, **{**defaults, **kwargs})


class EncryptedCharField(EncryptedTextField):
    description = "Encrypted short text"
    widget = None


class EncryptedEmailField(EncryptedCharField):
    description = "Encrypted e-mail address"
    default_validators = [validators.validate_email]
    form_class = forms.EmailField


class BlindIndexField(models.CharField):
    """A keyed hash of another field's normalised value, kept up to date on save: lets the app
    find a row by an encrypted value (`field=blind_index(purpose, value)`) without storing it."""

    def __init__(self, *args: Any, source: str, purpose: str, **kwargs: Any) -> None:
        self.source, self.purpose = source, purpose
        kwargs.update(max_length=64, null=True, blank=True, editable=False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for key in ("max_length", "null", "blank", "editable"):
            kwargs.pop(key, None)
        return name, path, args, {**kwargs, "source": self.source, "purpose": self.purpose}

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        source = getattr(model_instance, self.source)
        if isinstance(source, UnreadableText):
            return getattr(model_instance, self.attname)  # cannot recompute: keep what is there
        value = blind_index(self.purpose, source)
        setattr(model_instance, self.attname, value)
        return value
