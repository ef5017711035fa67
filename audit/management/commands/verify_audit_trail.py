from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.selectors import trail_verify


class Command(BaseCommand):
    help = (
        "Verify the audit trail's MAC chain from its start (or its signed pruning checkpoint) to its "
        "newest entry. Exits 1 and names the first broken entry if any was edited, removed, inserted "
        "or reordered. Prints the head (seq:mac): keep it elsewhere and pass it back with --anchor to "
        "also catch the newest entries removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--anchor", help="a head printed by an earlier run, SEQ:MAC, that must still be there")

    def handle(self, *args: Any, anchor: str | None = None, **options: Any) -> None:
        expected = None
        if anchor:
            seq, _, mac = anchor.partition(":")
            if not seq.isdigit() or len(mac) != 64:
                raise CommandError("--anchor must be SEQ:MAC as printed by an earlier run")
            expected = (int(seq), mac)
        verdict = trail_verify(anchor=expected)
        if not verdict.intact:
            where = f"entry #{verdict.broken_seq}" + (f" (row id {verdict.broken_id})" if verdict.broken_id else "")
            self.stderr.write(f"audit trail BROKEN at {where}: {verdict.reason}")
            self.stderr.write(f"{verdict.checked} entries before it verified.")
            raise SystemExit(1)
        if verdict.checked == 0:
            self.stdout.write("audit trail intact: no entries yet.")
            return
        self.stdout.write(
            f"audit trail intact: {verdict.checked} entries, #{verdict.starts_at} to #{verdict.head_seq}; "
            f"head {verdict.head_seq}:{verdict.head_mac}"
        )
