"""Key rotation throughput on PostgreSQL, over a million encrypted messages.

    CONFIDANT_DEV_ENV=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/confidant \\
        .venv/bin/python bench/rotation.py [--messages 1000000] [--conversations 20000]

Creates two scratch databases beside DATABASE_URL's (<name>_bench and <name>_bench_keys), loads
the messages encrypted under master key A (written with COPY, as fast as the server takes them),
then times, with the project's own functions (those `rotate_encryption_keys` runs):
  1. the master-key rotation A -> B: every data key re-wrapped (contents untouched);
  2. `--data`: every conversation re-keyed, every message decrypted and encrypted again.
Prints rows per second for each, checks that everything reads under B alone, and drops the
scratch databases (unless --keep).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import scratch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="Keep the scratch databases.")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        sys.exit("bench/rotation.py needs DATABASE_URL=postgres://... (it measures PostgreSQL)")
    base_name = urlsplit(base_url).path.lstrip("/")
    main_db, keys_db = f"{base_name}_bench", f"{base_name}_bench_keys"
    scratch.recreate(base_url, main_db, keys_db)
    os.environ.update(
        DATABASE_URL=scratch.url_with_db(base_url, main_db),
        KEYS_DATABASE_URL=scratch.url_with_db(base_url, keys_db),
        DJANGO_SETTINGS_MODULE="chatbot_site.settings",
        DATABASE_POOL="0",
    )
    try:
        _run(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            scratch.drop(base_url, main_db, keys_db)


def _run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from vault import rotation

    call_command("migrate", verbosity=0)
    call_command("migrate", database="keys", verbosity=0)
    key_a, key_b = os.urandom(32), os.urandom(32)
    _use(settings, key_a)

    start = time.perf_counter()
    _load(args.messages, args.conversations)
    print(
        f"loaded {args.messages:,} messages in {args.conversations:,} conversations "
        f"under key A in {time.perf_counter() - start:.1f} s"
    )

    _use(settings, key_b, key_a)
    start = time.perf_counter()
    rewrap = rotation.data_keys_rewrap()
    elapsed = time.perf_counter() - start
    print(
        f"master key rotation A -> B (re-wrap): {rewrap.rewrapped:,} data keys in {elapsed:.2f} s = "
        f"{rewrap.rewrapped / elapsed:,.0f} data keys/s, covering {args.messages / elapsed:,.0f} messages/s"
    )

    run, _ = rotation.rotation_run()
    start = time.perf_counter()
    result = rotation.subjects_rekey(run)
    rotation.rotation_finish(run, result)
    elapsed = time.perf_counter() - start
    print(
        f"rotate --data (re-key, re-encrypt): {result.values:,} values of {result.subjects:,} subjects in "
        f"{elapsed:.1f} s = {result.values / elapsed:,.0f} rows/s; {result.old_keys_destroyed:,} old keys destroyed"
    )

    _use(settings, key_b)
    from conversations.models import Message

    sample = list(Message.objects.order_by("?").values_list("body", flat=True)[:1000])
    assert all(body.startswith("message ") for body in sample), "a message did not read under key B alone"
    print("check: a random 1,000 messages read under key B alone")


def _use(settings: object, *master: bytes) -> None:
    from vault import datakeys, keyring  # after django.setup()

    settings.FIELD_ENCRYPTION_KEYS = list(master)
    keyring.master_keys.cache_clear()
    datakeys.forget_data_keys()


def _load(messages: int, conversations: int) -> None:
    """Rows as the app writes them (a data key per conversation, values under it), by COPY."""
    import datetime as dt
    import uuid

    from django.db import connections

    from vault import keyring

    now = dt.datetime.now(dt.UTC)
    per = messages // conversations
    keys_conn, main_conn = connections["keys"], connections["default"]
    keys_conn.ensure_connection()
    main_conn.ensure_connection()
    with keys_conn.connection.cursor() as kc, main_conn.connection.cursor() as mc:
        with (
            kc.copy("COPY vault_datakey (id, wrapped, master_key_id, created_at) FROM STDIN") as kcopy,
            mc.copy(
                "COPY conversations_conversation (id, data_key_id, state, last_seq, created_at, last_message_at, "
                "notice_version, legal_hold) FROM STDIN"
            ) as ccopy,
        ):
            ids = []
            for _ in range(conversations):
                material = os.urandom(keyring.DATA_KEY_BYTES)
                key_id, conv_id = uuid.uuid4(), uuid.uuid4()
                wrapped, fingerprint = keyring.wrap(material)
                kcopy.write_row((key_id, wrapped, fingerprint, now))
                ccopy.write_row((conv_id, key_id, "resolved", per, now, now, "1", False))
                ids.append((conv_id, key_id, keyring.cipher_of(material)))
        with mc.copy(
            "COPY conversations_message (conversation_id, seq, sender, body, masked, created_at) FROM STDIN"
        ) as copy:
            for conv_id, key_id, cipher in ids:
                for seq in range(1, per + 1):
                    body = f"message {seq} of {conv_id}: my card number is 4111 1111 1111 1111".encode()
                    copy.write_row((conv_id, seq, "customer", b"\x02" + key_id.bytes + cipher.encrypt(body), "[]", now))
    keys_conn.connection.commit()
    main_conn.connection.commit()


if __name__ == "__main__":
    main()
