"""The supervisor dashboard at 100,000 conversations: the page, today and the last 7 days.

    DATABASE_URL=postgres://…/confidant_bench_dash CONFIDANT_DEV_ENV=1 \
        .venv/bin/python bench/dashboard.py [--conversations 100000] [--days 90] [--keep]

Needs a PostgreSQL database whose name contains "bench" (and its keys database, `<name>_keys`).
Generates conversations with bulk_create (each with its own data key, no messages: the dashboard
reads metadata only), opened over the last `--days` days (90: the default retention; `--days 7`
puts them all in the week), about 65 % handed over to one of 20 agents, answered and resolved with
log-normal times, 1 % waiting and 1 % with an agent now. Then times GET /console/dashboard/ as a
supervisor (today, last 7 days) and `dashboard_figures` alone, and counts their queries at a tenth
of the size and at the full size, which must be equal. Target: each under 300 ms. The generated rows
(notice_version "bench-dash") are deleted at the end unless --keep; a later run tops them up.
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
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from bench.console_pages import measure, staff_client, trim  # noqa: E402
from conversations.dashboard import dashboard_figures  # noqa: E402
from conversations.models import Conversation  # noqa: E402
from vault.datakeys import data_keys_create, forget_data_keys  # noqa: E402

TAG = "bench-dash"
AGENTS = 20
TARGET = 0.3


def _staff() -> tuple[User, list[User]]:
    supervisor, _ = User.objects.get_or_create(
        username="bench-dash-supervisor", defaults={"role": User.Role.SUPERVISOR}
    )
    agents = [
        User.objects.get_or_create(username=f"bench-dash-agent-{i:02d}", defaults={"role": User.Role.AGENT})[0]
        for i in range(AGENTS)
    ]
    return supervisor, agents


def _generate(total: int, agents: list[User], days: int, *, seed: int = 16) -> None:
    """Top the generated conversations up to `total`."""
    have = Conversation.objects.filter(notice_version=TAG).count()
    rng = random.Random(seed + have)
    now = timezone.now()
    S = Conversation.State
    batch = 5000
    for start in range(have, total, batch):
        n = min(batch, total - start)
        keys = data_keys_create(n)
        rows, opened_at = [], []
        for key in keys:
            opened = now - dt.timedelta(seconds=rng.randrange(days * 86400))
            row = Conversation(data_key_id=key, state=S.BOT, last_seq=0, last_message_at=opened, notice_version=TAG)
            roll = rng.random()
            if roll < 0.65:
                row.handed_over_at = opened + dt.timedelta(minutes=rng.uniform(0.5, 5))
                if roll < 0.01:
                    row.state, row.waiting_since = S.WAITING, row.handed_over_at
                else:
                    row.assigned_agent = rng.choice(agents)
                    row.first_response_at = row.handed_over_at + dt.timedelta(minutes=rng.lognormvariate(1, 0.7))
                    if roll < 0.02:
                        row.state = S.AGENT
                    else:
                        row.state = S.RESOLVED
                        row.resolved_at = row.first_response_at + dt.timedelta(minutes=rng.lognormvariate(2.7, 0.6))
            rows.append(row)
            opened_at.append(opened)
        with transaction.atomic():
            Conversation.objects.bulk_create(rows, batch_size=1000)
            for row, opened in zip(rows, opened_at, strict=True):
                row.created_at = opened  # auto_now_add set it on create
            Conversation.objects.bulk_update(rows, ["created_at"], batch_size=1000)
        forget_data_keys(keys)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Conversation._meta.db_table}")  # as autovacuum would, soon after


def _cases(supervisor: User) -> dict[str, Any]:
    client = staff_client(supervisor)

    def get(url: str) -> Any:
        def fetch() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return fetch

    return {
        "page, today": get("/console/dashboard/"),
        "page, last 7 days": get("/console/dashboard/?period=7d"),
        "dashboard_figures, today": lambda: dashboard_figures(period="today"),
        "dashboard_figures, last 7 days": lambda: dashboard_figures(period="7d"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90, help="spread the conversations over this many days")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the generated rows for the next run")
    args = parser.parse_args()
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql" or "bench" not in database["NAME"]:
        print("bench/dashboard.py needs DATABASE_URL naming a PostgreSQL database with 'bench' in its name")
        return 2
    call_command("migrate", verbosity=0)
    call_command("migrate", database="keys", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
    supervisor, agents = _staff()
    trim(TAG, 0)  # rows of a run with other --days
    results = {}
    try:
        for size in (args.conversations // 10, args.conversations):
            start = time.perf_counter()
            _generate(size, agents, args.days)
            print(f"{size} conversations over {args.days} days generated in {time.perf_counter() - start:.0f} s")
            results[size] = {name: measure(fn, args.rounds) for name, fn in _cases(supervisor).items()}
    finally:
        if not args.keep:
            trim(TAG, 0)
            User.objects.filter(username__startswith="bench-dash-").delete()
    small, large = results[args.conversations // 10], results[args.conversations]
    print(f"database: {connection.vendor}; median and worst of {args.rounds} rounds")
    print(f"{'':32} {'median':>8} {'worst':>8}  queries at {args.conversations // 10} / {args.conversations}")
    ok = True
    for name, (median, worst, queries) in large.items():
        good = queries == small[name][2] and median < TARGET
        ok &= good
        flag = "" if good else "  <-- over target"
        print(f"{name:32} {median * 1000:6.1f}ms {worst * 1000:6.1f}ms  {small[name][2]} / {queries}{flag}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
