"""Conversations written straight into PostgreSQL by COPY, as fast as the server takes them: the
backlog the retention purge deletes (bench/retention.py, and the chat benchmark's `purge` case
through bench/chat_setup.py).

Rows as the app leaves them: each conversation resolved, `per` customer messages, its own data key
(wrapped under the current master key, in the keys database), every message and the conversation's
last_message_at `age` old. Bodies are random bytes standing for ciphertexts: the purge never reads
them. Call with Django set up (the data keys are wrapped by vault.keyring).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import purging

from vault import keyring

BODY_BYTES = 300  # a short chat message's ciphertext
PARALLEL = 2  # connections writing the messages


def load(main_url: str, keys_url: str, *, messages: int, per: int = 50, age: dt.timedelta) -> int:
    """Write messages // per conversations of `per` messages each, their last message `age` ago;
    returns the number of messages written. Commits, then VACUUMs the tables it wrote."""
    last = dt.datetime.now(dt.UTC) - age
    conversations = [(uuid.uuid4(), uuid.uuid4()) for _ in range(messages // per)]
    # Messages as COPY text, a block of conversations at a time: write_row per message costs more
    # than the server's side of the COPY. A bytea in COPY text is \\x<hex>.
    body = "\\\\x" + os.urandom(BODY_BYTES).hex()
    stamp = last.isoformat()
    tail = [f"\t{seq}\tcustomer\t{body}\t[]\t{stamp}\n" for seq in range(1, per + 1)]
    with psycopg.connect(main_url) as main, psycopg.connect(keys_url) as keys_db:
        with keys_db.cursor().copy("COPY vault_datakey (id, wrapped, master_key_id, created_at) FROM STDIN") as copy:
            for _, key_id in conversations:
                wrapped, fingerprint = keyring.wrap(os.urandom(keyring.DATA_KEY_BYTES))
                copy.write_row((key_id, wrapped, fingerprint, last))
        keys_db.commit()  # before the rows that refer to the keys, as the app does
        with main.cursor().copy(
            "COPY conversations_conversation (id, data_key_id, state, last_seq, created_at, last_message_at, "
            "notice_version, legal_hold) FROM STDIN"
        ) as copy:
            for conv_id, key_id in conversations:
                copy.write_row((conv_id, key_id, "resolved", per, last, last, "1", False))
        main.commit()  # seen by the connections that write the messages

        def messages_of(part: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
            with psycopg.connect(main_url) as conn:
                with conn.cursor().copy(
                    "COPY conversations_message (conversation_id, seq, sender, body, masked, created_at) FROM STDIN"
                ) as copy:
                    for start in range(0, len(part), 200):
                        copy.write(
                            "".join(f"{conv_id}{line}" for conv_id, _ in part[start : start + 200] for line in tail)
                        )

        # The server's side of a COPY (heap, indexes, WAL) is one core's work per connection.
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(messages_of, [conversations[i::PARALLEL] for i in range(PARALLEL)]))
    purging.vacuum(main_url, keys_url)
    return len(conversations) * per
