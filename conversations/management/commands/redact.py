"""manage.py redact: mask text from standard input, or the stored messages and notes
(--scan-stored [--apply]). See conversations.redaction_jobs and docs/operations.md."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from conversations import redaction_jobs
from conversations.masking import mask_for
from conversations.models import Message


class Command(BaseCommand):
    # Standard error carries only JSON lines in the filter mode: no check warnings among them
    # (the scan runs the checks itself).
    requires_system_checks: list[str] = []
    help = (
        "Mask standard input as a customer's message would be masked: the masked text on standard output, "
        "the findings as JSON lines on standard error (kind, start, end, masked form; never the value). "
        "With --scan-stored, count what is left to mask in stored messages and internal notes; with --apply "
        "also rewrite them masked, each conversation under its lock. Safe to interrupt and rerun."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--sender",
            choices=[Message.Sender.CUSTOMER, Message.Sender.AGENT],
            default=Message.Sender.CUSTOMER,
            help="Whose policy masks standard input (default customer: every kind in REDACTION_KINDS).",
        )
        parser.add_argument("--scan-stored", action="store_true", help="Scan stored messages and notes.")
        parser.add_argument("--apply", action="store_true", help="With --scan-stored: rewrite them masked.")
        parser.add_argument("--batch-size", type=int, default=500, help="Rows read per query (default 500).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["apply"] and not options["scan_stored"]:
            raise CommandError("--apply rewrites stored text: use it with --scan-stored.")
        if options["scan_stored"]:
            self._scan(apply=options["apply"], batch_size=options["batch_size"])
        else:
            self._filter(options["sender"])

    def _filter(self, sender: str) -> None:
        masked = mask_for(sender, sys.stdin.read())
        self.stdout.write(masked.text, ending="")
        self.stderr.style_func = None  # JSON lines, uncoloured even on a terminal
        for finding in masked.findings:
            line = {"kind": finding.kind.value, "start": finding.start, "end": finding.end, "masked": finding.masked}
            self.stderr.write(json.dumps(line, ensure_ascii=False))

    def _scan(self, *, apply: bool, batch_size: int) -> None:
        self.check()
        # Counts only on the bar: it never shows a row's content.
        with tqdm(
            total=redaction_jobs.stored_rows_count(),
            desc="redact" if apply else "scan",
            unit=" rows",
            file=self.stderr._out,
            dynamic_ncols=True,
            mininterval=0.5,
        ) as bar:
            result = redaction_jobs.stored_text_redact(apply=apply, batch_size=batch_size, progress=bar.update)
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.kinds.items())) or "none"
        self.stdout.write(
            f"Read {result.rows} messages and notes; {result.with_findings} hold something to mask. Found: {kinds}."
        )
        if result.held:
            self.stdout.write(
                self.style.WARNING(
                    f"{result.held} rows of conversations on legal hold were kept as they are; run again after the hold."
                )
            )
        if result.unreadable:
            self.stdout.write(
                self.style.WARNING(f"{result.unreadable} rows no configured key opens were left as they are.")
            )
        if apply:
            self.stdout.write(self.style.SUCCESS(f"Rewrote {result.rewritten} masked."))
        elif result.with_findings:
            self.stdout.write("Nothing changed: run again with --apply to rewrite them masked.")
