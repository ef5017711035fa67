"""manage.py purge_transcripts [--dry-run]: the retention purge, now (see privacy.retention)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from privacy import retention, schedule


def _date(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "-"


class Command(BaseCommand):
    help = (
        f"Delete conversations whose last message is older than RETENTION_DAYS ({settings.RETENTION_DAYS}), "
        "except those on legal hold, as the daily beat job does. --dry-run only reports."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Print what would be deleted; change nothing.")
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Conversations per transaction (default 1000)."
        )
        parser.add_argument("--pause", type=float, default=0.0, help="Seconds between batches (default 0).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1 or options["pause"] < 0:
            raise CommandError("--batch-size must be at least 1 and --pause not negative.")
        due = retention.preview()
        described, next_at = schedule.next_run()
        self.stdout.write(
            f"Retention: {settings.RETENTION_DAYS} days; cutoff {_date(due.cutoff)}. Scheduled: {described}; "
            f"next run {_date(next_at)}."
        )
        self.stdout.write(
            f"Due: {due.conversations} conversations ({due.messages} messages, {due.notes} notes), last messages "
            f"from {_date(due.oldest)} to {_date(due.newest)}; {due.held} more past the cutoff on legal hold."
        )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing deleted.")
            return
        with tqdm(total=due.conversations, desc="purge", unit=" conversations", file=self.stderr._out) as bar:
            run = retention.purge(batch_size=options["batch_size"], pause=options["pause"], progress=bar.update)
        if run.status == run.Status.SKIPPED:
            raise CommandError("Another purge is running; this one did nothing.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {run.conversations} conversations, {run.messages} messages, {run.notes} notes; "
                f"destroyed {run.data_keys} data keys. Recorded as {run}."
            )
        )
