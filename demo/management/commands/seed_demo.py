from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import AuthenticatorDevice, User
from conversations import canned
from conversations import selectors as chat_selectors
from conversations import services as chat_services
from conversations.models import CannedReply, Conversation, KnowledgeArticle
from demo.data import ARTICLES, CANNED_REPLIES
from privacy.data_requests.lifecycle import due_date
from privacy.models import DataRequest, RequestDetails
from vault.datakeys import data_keys_create

# A known password is the point of demo accounts; seed_demo refuses to run outside DEBUG.
DEMO_PASSWORD = "harbor-demo-2026"  # noqa: S105
DEMO_USERS = [
    ("dana", "Dana", "Customer", User.Role.CUSTOMER),
    ("alex", "Alex", "Agent", User.Role.AGENT),
    ("sam", "Sam", "Agent", User.Role.AGENT),
    ("morgan", "Morgan", "Supervisor", User.Role.SUPERVISOR),
    ("pat", "Pat", "Privacy officer", User.Role.PRIVACY_OFFICER),
]


def demo_totp_key(username: str) -> str:
    """A fixed, well-known TOTP key (hex) per demo account: demo accounts are not secret."""
    return hashlib.sha256(f"confidant-demo-totp-{username}".encode()).hexdigest()[:40]


def _spaced(hex_key: str) -> str:
    secret = base64.b32encode(bytes.fromhex(hex_key)).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


class Command(BaseCommand):
    help = "Load the demo business (knowledge base) and demo accounts. Safe to run again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--force", action="store_true", help="Allow outside DEBUG (never in production).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with a known password; it runs only with DEBUG=1 (or --force)."
            )
        with transaction.atomic():
            for article in ARTICLES:
                KnowledgeArticle.objects.update_or_create(title=article["title"], defaults=article)
            for username, first, _last, role in DEMO_USERS:
                user = User.objects.filter(username=username).first()
                created = user is None
                if created and role in User.STAFF_ROLES:
                    user = account_services.staff_create(
                        username=username, role=role, password=DEMO_PASSWORD, first_name=first
                    )
                elif created:
                    user = User.objects.create_user(
                        username=username, password=DEMO_PASSWORD, first_name=first, role=role
                    )
                if not user.first_name or not user.email:
                    user.first_name, user.email = first, f"{username}@example.com"
                    user.save(update_fields=["first_name", "email"])
                if role != User.Role.CUSTOMER:
                    AuthenticatorDevice.objects.get_or_create(
                        user=user,
                        name="Demo authenticator",
                        defaults={"key": demo_totp_key(username), "confirmed": True},
                    )
            requests_made = self._demo_data_requests()
            self._demo_canned_replies()
            self._demo_conversation()
            self._demo_queue()
            week = self._demo_week()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {len(ARTICLES)} help articles."))
        self.stdout.write(f'Sign in at /accounts/login/ with password "{DEMO_PASSWORD}" as:')
        for username, _, last, role in DEMO_USERS:
            extra = "" if role == User.Role.CUSTOMER else f"  two-step key: {_spaced(demo_totp_key(username))}"
            self.stdout.write(f"  {username:8} or {username}@example.com ({last.lower()}){extra}")
        self.stdout.write(
            "Staff need a second step: add their key to an authenticator app, or print the current code with\n"
            "  DEBUG=1 .venv/bin/python manage.py demo_code <username>"
        )
        self.stdout.write("Visit / for a demo bank site with the chat (no sign-in); agents work at /console/.")
        self.stdout.write(
            "Canned replies: type / in a conversation's reply box (two shared, /greet and /freeze, and alex's own\n"
            "  /thanks); morgan manages the shared ones and everyone their own at /console/canned/."
        )
        self.stdout.write(
            "Console: visitors are waiting in the queue (on a phone its rows are cards). Claim your own chat as\n"
            '  alex, then press "Delete this chat" in the widget: the console says so at once and closes.'
        )
        self.stdout.write(
            f"Dashboard: morgan sees the team's figures at /console/dashboard/ ({week} conversations of the last\n"
            "  7 days added, handled by alex and sam: figures only, no messages)."
        )
        self.stdout.write(
            "Audit: morgan and pat read the trail and its alerts at /privacy/trail/ and /privacy/alerts/; dana sees\n"
            "  which roles opened her conversation at /me/conversations/; check the chain with\n"
            "  DEBUG=1 .venv/bin/python manage.py verify_audit_trail"
        )
        self.stdout.write(
            "Privacy: customers and visitors ask for a copy or deletion at /privacy/requests/new/; pat works the\n"
            f"  requests at /privacy/officer/ ({requests_made} demo requests added). E-mails are written to\n"
            f"  {settings.EMAIL_FILE_PATH}/; show the newest with: DEBUG=1 .venv/bin/python manage.py last_email"
        )

    def _demo_conversation(self) -> None:
        """Once: a resolved conversation of dana's that alex handled and morgan looked at, through
        the services, so the audit trail holds their reads and dana's "My conversations" shows
        which roles opened it. (Making the staff accounts already recorded their roles: the
        privileged ones raise the demo alert that morgan and pat see.)"""
        dana = User.objects.get(username="dana")
        if dana.conversations.exists():
            return
        alex, morgan = User.objects.get(username="alex"), User.objects.get(username="morgan")
        conversation = chat_services.conversation_start(customer=dana)
        chat_services.message_post(
            conversation_id=conversation.pk,
            sender="customer",
            body="Hi, there is a card payment on my statement that I don't recognise.",
            client_id=uuid.uuid4(),
            author=dana,
        )
        chat_services.conversation_hand_over(conversation_id=conversation.pk)
        chat_services.conversation_claim(conversation_id=conversation.pk, agent=alex)
        chat_selectors.transcript_open(viewer=alex, conversation_id=conversation.pk)
        chat_services.message_post(
            conversation_id=conversation.pk,
            sender="agent",
            body="Thanks Dana, I have blocked that payment and a new card is on its way.",
            client_id=uuid.uuid4(),
            author=alex,
        )
        chat_selectors.transcript_open(viewer=morgan, conversation_id=conversation.pk)
        chat_services.conversation_resolve(conversation_id=conversation.pk, by=alex)

    def _demo_canned_replies(self) -> None:
        """Two shared canned replies and one of alex's own (each once, by shortcut)."""
        for username, shortcut, title, body in CANNED_REPLIES:
            owner = User.objects.get(username=username) if username else None
            if not CannedReply.objects.filter(owner=owner, shortcut=shortcut).exists():
                canned.canned_reply_create(owner=owner, shortcut=shortcut, title=title, body=body)

    def _demo_queue(self) -> None:
        """Once: two visitors waiting for an agent, so the console's queue (cards on a phone) has
        rows to claim."""
        if Conversation.objects.filter(customer=None, state=Conversation.State.WAITING).exists():
            return
        for text in ("My parcel never arrived, can someone check?", "How do I change the address on my account?"):
            conversation = chat_services.conversation_start(customer=None)
            chat_services.message_post(
                conversation_id=conversation.pk, sender="customer", body=text, client_id=uuid.uuid4()
            )
            chat_services.conversation_hand_over(conversation_id=conversation.pk)

    def _demo_week(self) -> int:
        """Once: a week of conversations for the supervisor dashboard, opened in office hours
        (site time zone) up to now; about two in three handed over, answered and resolved by alex
        (quicker) or sam. Metadata only, no messages (the history lists them not, as it does not
        list greeting-only ones). Returns how many were added."""
        alex, sam = User.objects.get(username="alex"), User.objects.get(username="sam")
        if Conversation.objects.filter(assigned_agent__in=[alex, sam], last_seq=0).exists():
            return 0
        rng = random.Random(16)  # noqa: S311 (demo figures)
        now = timezone.now()
        today = timezone.localdate(now)
        zone = timezone.get_current_timezone()
        rows, opened_at = [], []
        for days_ago in range(6, -1, -1):
            day = today - dt.timedelta(days=days_ago)
            for _ in range(rng.randint(18, 34) if day.weekday() < 5 else rng.randint(6, 12)):
                opened = dt.datetime.combine(day, dt.time(8), tzinfo=zone) + dt.timedelta(
                    minutes=rng.randrange(11 * 60)
                )
                if opened >= now - dt.timedelta(hours=2):
                    continue
                row = Conversation(
                    state=Conversation.State.BOT,
                    last_seq=0,
                    last_message_at=opened,
                    notice_version=settings.PRIVACY_NOTICE_VERSION,
                )
                if rng.random() < 0.65:
                    agent, pace = (alex, 1.0) if rng.random() < 0.55 else (sam, 1.6)
                    row.handed_over_at = opened + dt.timedelta(minutes=rng.uniform(1, 6))
                    row.first_response_at = row.handed_over_at + dt.timedelta(
                        minutes=rng.lognormvariate(1.0, 0.6) * pace
                    )
                    row.resolved_at = row.first_response_at + dt.timedelta(minutes=rng.lognormvariate(2.6, 0.5) * pace)
                    row.state, row.assigned_agent, row.last_message_at = (
                        Conversation.State.RESOLVED,
                        agent,
                        row.resolved_at,
                    )
                rows.append(row)
                opened_at.append(opened)
        for row, key in zip(rows, data_keys_create(len(rows)), strict=True):
            row.data_key_id = key
        Conversation.objects.bulk_create(rows)
        for row, opened in zip(rows, opened_at, strict=True):
            row.created_at = opened  # auto_now_add set it on create; bulk_update writes it as given
        Conversation.objects.bulk_update(rows, ["created_at"], batch_size=500)
        return len(rows)

    def _demo_data_requests(self) -> int:
        """Two visitors' deletion requests for the officer's queue, one of them overdue (once)."""
        if DataRequest.objects.exists():
            return 0
        now = timezone.now()
        for email, days_ago in (("jordan@example.com", 33), ("riley@example.com", 2)):
            received = now - dt.timedelta(days=days_ago)
            request = DataRequest.objects.create(
                kind=DataRequest.Kind.DELETION,
                status=DataRequest.Status.RECEIVED,
                verified_by=DataRequest.Verification.EMAIL,
                requested_at=received - dt.timedelta(minutes=4),
                verified_at=received,
                due_at=due_date(received),
                counts={"account": 0, "conversations": 0, "messages": 0},
            )
            RequestDetails.objects.create(request=request, email=email, reason="")
        return 2
