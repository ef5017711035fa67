"""Encryption at rest, importing no app: the master key ring, per-subject data keys and their
cache, the envelope every stored value is kept in, keyed blind indexes, the encrypted model fields,
and rotation. Every app's models build on `vault.fields`; nothing here knows which apps exist.

Master keys: settings.FIELD_ENCRYPTION_KEYS, newest first (vault.keyring). They encrypt only data
keys. Data keys: 64 random bytes per subject (a user, a conversation: DataKeyOwner), stored wrapped
under the newest master key in the separate `keys` database (vault.models.DataKey, vault.routers).
Every encrypted value belongs to a subject, its own or its owner's (DataKeyDependent), and is
stored as

    b"\\x02" + data key id (16 bytes) + FernetBytes token        (vault.envelope)

so a value names its key: decrypting needs no model context, and rotation can find what is where.
Destroying a data key (vault.datakeys.data_keys_destroy) makes its subject's values unreadable
everywhere, backups of the main database included: crypto-shredding.
"""
