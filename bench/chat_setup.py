"""The chat benchmark's data, made through the product's own services (bench/chat.py runs it).

    CONFIDANT_DEV_ENV=1 DATABASE_URL=… .venv/bin/python bench/chat_setup.py agents 5
    … bench/chat_setup.py claim < {"agents": ["bench-agent-0"], "sessions": ["<session key>", …]}
    … bench/chat_setup.py articles 2000
    … bench/chat_setup.py backlog 1000000
    … bench/chat_setup.py purge

Prints one JSON object. `agents`: agents with a confirmed authenticator, each with a fresh session
that passed the second factor (as tests/auth.py makes them), by session key. `claim`: hands the
widget conversation of each customer session over and has the agents claim them in turn; prints
their ids. `articles`: a knowledge base of N published articles (replacing the bench's earlier
ones); prints a question of each, for the bot load. `backlog`: N messages in conversations past
the retention cutoff, written by COPY (bench/backlog.py; the services write a message at a time,
with its own transaction). `purge`: sends the retention purge to the Celery workers the way beat
does at its scheduled time (its database schedule entry, through Celery's own Scheduler).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")

import django

django.setup()

import backlog
from celery.beat import Scheduler
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from accounts.models import User
from accounts.services import staff_create
from chatbot_site.celery import app
from conversations import services
from conversations.models import KnowledgeArticle
from privacy import schedule
from tests.auth import signed_in_client  # the one way a verified staff session is made

AGENT_PREFIX = "bench-agent-"
ARTICLE_PREFIX = "Bench: "
TOPICS = (
    "card payment transfer account loan mortgage savings overdraft statement pin branch cheque deposit "
    "withdrawal interest fee limit fraud dispute refund travel currency pension insurance login password "
    "address phone email app notification standing order direct debit contactless wallet"
).split()
ACTIONS = "open close block unblock change reset increase report cancel order renew check activate".split()


def agents(count: int) -> dict[str, object]:
    sessions = {}
    for i in range(count):
        username = f"{AGENT_PREFIX}{i}"
        user = User.objects.filter(username=username).first() or staff_create(
            username=username, role=User.Role.AGENT, password=f"bench-{os.urandom(12).hex()}"
        )
        sessions[username] = signed_in_client(user).session.session_key
    return {"agents": sessions}


def claim(spec: dict[str, list[str]]) -> dict[str, object]:
    staff = [User.objects.get(username=name) for name in spec["agents"]]
    ids = []
    for i, key in enumerate(spec["sessions"]):
        conversation_id = SessionStore(session_key=key).load().get("conversation_id")
        if not conversation_id:
            raise SystemExit(
                f"session {i} has no widget conversation: its socket opens one with its first message or handoff"
            )
        services.conversation_hand_over(conversation_id=conversation_id)
        services.conversation_claim(conversation_id=conversation_id, agent=staff[i % len(staff)])
        ids.append(conversation_id)
    return {"conversations": ids}


def articles(count: int) -> dict[str, object]:
    rng = random.Random(13)  # the same knowledge base every run
    KnowledgeArticle.objects.filter(title__startswith=ARTICLE_PREFIX).delete()
    rows, questions = [], []
    for i in range(count):
        topic, other, action = rng.choice(TOPICS), rng.choice(TOPICS), rng.choice(ACTIONS)
        question = f"How do I {action} my {topic} {other} number {i}?"
        rows.append(
            KnowledgeArticle(
                title=f"{ARTICLE_PREFIX}{action} your {topic} ({i})",
                questions=f"{question}\nCan I {action} the {topic} online?\nWhere is my {other} {topic}?",
                answer=f"To {action} your {topic}, open Settings, then {other.title()}, and follow the steps. " * 3,
            )
        )
        questions.append(question)
    KnowledgeArticle.objects.bulk_create(rows, batch_size=500)
    return {"questions": questions}


def backlog_load(messages: int) -> dict[str, object]:
    """Conversations whose last message is a month past the retention cutoff."""
    count = backlog.load(
        os.environ["DATABASE_URL"],
        os.environ["KEYS_DATABASE_URL"],
        messages=messages,
        age=dt.timedelta(days=settings.RETENTION_DAYS + 30),
    )
    return {"messages": count}


def purge() -> dict[str, object]:
    entry = ModelEntry(PeriodicTask.objects.get(name=schedule.TASK_NAME), app=app)
    sent = Scheduler(app, lazy=True).apply_async(entry, advance=False)
    return {"task": entry.task, "id": sent.id}


def main() -> None:
    command = sys.argv[1]
    if command == "agents":
        result = agents(int(sys.argv[2]))
    elif command == "claim":
        result = claim(json.load(sys.stdin))
    elif command == "articles":
        result = articles(int(sys.argv[2]))
    elif command == "backlog":
        result = backlog_load(int(sys.argv[2]))
    elif command == "purge":
        result = purge()
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
