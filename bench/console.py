"""The agent console at 100,000 conversations: queue page, queue snapshot and history page.

    CONFIDANT_DEV_ENV=1 .venv/bin/python bench/console.py [--conversations 100000] [--keep]

Generates conversations in the configured database (PostgreSQL with DATABASE_URL) with
bulk_create, each with its own data key in the keys database but without messages: the pages
list metadata only (state, agent, times, `last_seq`). Most are resolved, some with the bot, about
1 % waiting and a few hundred with one of 20 agents, their last messages spread over a year.
Then times, as a supervisor and as an agent: GET /console/, `selectors.queue_items` (the queue
socket's snapshot), GET /console/history/ (first page, half-way down the list, filtered by
state, by agent and by dates), and counts their queries at this size and at a tenth of it (the
rows beyond it deleted), which must be equal. Target: each under 100 ms. The generated rows
(notice_version "bench-console") are deleted at the end unless --keep; a later run tops them up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from bench.console_pages import measure, staff_client, trim  # noqa: E402
from conversations import selectors  # noqa: E402
from conversations.models import Conversation  # noqa: E402
from vault.datakeys import data_keys_create, forget_data_keys  # noqa: E402

TAG = "bench-console"
AGENTS = 20


def _staff() -> tuple[User, list[User]]:
    supervisor, _ = User.objects.get_or_create(username="bench-supervisor", defaults={"role": User.Role.SUPERVISOR})
    agents = [
        User.objects.get_or_create(username=f"bench-agent-{i:02d}", defaults={"role": User.Role.AGENT})[0]
        for i in range(AGENTS)
    ]
    return supervisor, agents


def _generate(total: int, agents: list[User], *, seed: int = 13) -> None:
    """Top the generated conversations up to `total`."""
    have = Conversation.objects.filter(notice_version=TAG).count()
    rng = random.Random(seed + have)
    now = timezone.now()
    S = Conversation.State
    batch = 5000
    for start in range(have, total, batch):
        n = min(batch, total - start)
        keys = data_keys_create(n)
        rows = []
        for key in keys:
            roll = rng.random()
            state = S.WAITING if roll < 0.01 else S.AGENT if roll < 0.015 else S.BOT if roll < 0.08 else S.RESOLVED
            last = now - dt.timedelta(seconds=rng.randrange(365 * 86400))
            agent = rng.choice(agents) if state in (S.AGENT, S.RESOLVED) and rng.random() < 0.8 else None
            rows.append(
                Conversation(
                    data_key_id=key,
                    state=state,
                    assigned_agent=agent,
                    last_seq=1 if state == S.BOT and rng.random() < 0.5 else rng.randrange(2, 40),
                    last_message_at=last,
                    waiting_since=last - dt.timedelta(minutes=rng.randrange(60)) if state != S.BOT else None,
                    resolved_at=last if state == S.RESOLVED else None,
                    notice_version=TAG,
                )
            )
        with transaction.atomic():
            Conversation.objects.bulk_create(rows, batch_size=1000)
        forget_data_keys(keys)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Conversation._meta.db_table}")  # as autovacuum would, soon after


def _cleanup() -> None:
    trim(TAG, 0)
    User.objects.filter(username__startswith="bench-").delete()


def _cases(supervisor: User, agent: User) -> dict[str, Any]:
    sup, ag = staff_client(supervisor), staff_client(agent)
    month_ago = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    # Half-way down the history: the cursor of its "Older" link there.
    visible = Conversation.objects.filter(last_seq__gt=1, last_message_at__isnull=False)
    middle = visible.order_by("-last_message_at", "-id")[visible.count() // 2]
    deep = selectors._cursor("older", middle)

    def get(client: Client, url: str) -> Any:
        def fetch() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return fetch

    return {
        "queue page, supervisor": get(sup, "/console/"),
        "queue page, agent": get(ag, "/console/"),
        "queue snapshot (queue_items), supervisor": lambda: selectors.queue_items(user=supervisor),
        "queue snapshot (queue_items), agent": lambda: selectors.queue_items(user=agent),
        "history, supervisor, page 1": get(sup, "/console/history/"),
        "history, supervisor, half-way down": get(sup, f"/console/history/?page={deep}"),
        "history, supervisor, state=waiting": get(sup, "/console/history/?state=waiting"),
        "history, supervisor, agent + resolved": get(sup, f"/console/history/?agent={agent.pk}&state=resolved"),
        "history, supervisor, last 30 days": get(sup, f"/console/history/?since={month_ago}"),
        "history, agent, page 1": get(ag, "/console/history/"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the generated rows for the next run")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
    supervisor, agents = _staff()
    try:
        results = {}
        for size in (args.conversations // 10, args.conversations):
            start = time.perf_counter()
            trim(TAG, size)  # rows kept from a larger run
            _generate(size, agents)
            print(f"{size} conversations generated in {time.perf_counter() - start:.0f} s")
            results[size] = {name: measure(fn, args.rounds) for name, fn in _cases(supervisor, agents[0]).items()}
    finally:
        if not args.keep:
            _cleanup()
    small, large = results[args.conversations // 10], results[args.conversations]
    print(f"database: {connection.vendor}; median and worst of {args.rounds} rounds")
    print(f"{'':42} {'median':>8} {'worst':>8}  queries at {args.conversations // 10} / {args.conversations}")
    for name, (median, worst, queries) in large.items():
        flag = "" if queries == small[name][2] and median < 0.1 else "  <-- over target"
        print(f"{name:42} {median * 1000:6.1f}ms {worst * 1000:6.1f}ms  {small[name][2]} / {queries}{flag}")


if __name__ == "__main__":
    main()
