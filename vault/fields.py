"""The encrypted model fields and the subjects they belong to.

A subject (DataKeyOwner: a user, a conversation) has its own data key; a dependent row
(DataKeyDependent: a conversation's message) is encrypted under its owner's. EncryptedTextField and
its kin store text in vault.envelope's format; BlindIndexField keeps a keyed hash of another field
for lookups. A deleted subject's key is destroyed once the deletion commits (signals connected in
vault.apps).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django import forms
from django.core import validators
from django.db import connections, models, router, transaction

from vault.blind import blind_index
from vault.datakeys import data_key_create, data_keys_destroy
from vault.envelope import Ciphertext, UnreadableText, decrypt_or_placeholder, encrypt_for


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
