"""manage.py rotate_encryption_keys [--data] [--status]: see vault.rotation and docs/operations.md."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from vault import rotation

_MISSING_KEY = (
    "Their customers' and conversations' contents cannot be read until the key that wrapped them is back "
    "in FIELD_ENCRYPTION_KEYS; put it back (after the newest) and run again."
)


class Command(BaseCommand):
    help = (
        "Re-wrap every data key under the newest key of FIELD_ENCRYPTION_KEYS (fast: contents are "
        "not touched). With --data, also give every customer and conversation a new data key and "
        "re-encrypt their contents under it. Safe to interrupt and to rerun; runs beside live traffic."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--data", action="store_true", help="Also re-key and re-encrypt all contents.")
        parser.add_argument("--status", action="store_true", help="Only report which key wraps what.")
        parser.add_argument(
            "--take-over",
            action="store_true",
            help="Resume a --data run whose process died less than two minutes ago (never while it still runs).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=200,
            help="Data keys, or customers and conversations, per transaction (default 200).",
        )
        parser.add_argument(
            "--pause", type=float, default=0.0, help="Seconds to wait between batches, to spare a busy database."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1 or not 0 <= options["pause"] <= rotation.MAX_PAUSE_SECONDS:
            raise CommandError(
                f"--batch-size must be at least 1, and --pause from 0 to {rotation.MAX_PAUSE_SECONDS:.0f}."
            )
        if options["status"]:
            if self._report_usage():
                raise CommandError(_MISSING_KEY)
            return
        batch, pause = options["batch_size"], options["pause"]
        with self._bar(rotation.data_keys_not_under_newest().count(), "re-wrap data keys", "keys") as bar:
            rewrap = rotation.data_keys_rewrap(batch_size=batch, pause=pause, progress=bar.update)
        opened = ", ".join(f"{n} from {fp}" for fp, n in rewrap.opened_by.items()) or "none needed"
        self.stdout.write(f"Re-wrapped {rewrap.rewrapped} data keys under the newest key ({opened}).")
        if rewrap.unopenable:
            self._report_usage()
            raise CommandError(
                f"{len(rewrap.unopenable)} data keys are wrapped under no configured key and were left alone"
                + (" (contents not re-encrypted: that would lose them)" if options["data"] else "")
                + ". "
                + _MISSING_KEY
            )
        if options["data"]:
            try:
                run, resumed = rotation.rotation_run(take_over=options["take_over"])
            except rotation.RotationBusy as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"Resuming the re-keying run started {run.started_at:%Y-%m-%d %H:%M} UTC."
                if resumed
                else "Starting a re-keying run."
            )
            with self._bar(rotation.subjects_count(), "re-key contents", "subjects") as bar:
                try:
                    result = rotation.subjects_rekey(run, batch_size=batch, pause=pause, progress=bar.update)
                except rotation.RotationBusy as exc:
                    raise CommandError(str(exc)) from exc
            rotation.rotation_finish(run, result)
            self.stdout.write(
                f"Re-keyed {result.subjects} customers and conversations: {result.values} values re-encrypted, "
                f"{result.old_keys_destroyed} old data keys destroyed."
            )
            if result.unreadable_values:
                self.stdout.write(
                    self.style.WARNING(f"{result.unreadable_values} damaged values were left as they were.")
                )
            if result.subjects_unopenable:
                self.stdout.write(
                    self.style.WARNING(
                        f"{result.subjects_unopenable} customers or conversations were left alone: their data key is "
                        "wrapped under a master key this process does not have. Run again with every key configured."
                    )
                )
            if result.subjects_without_key:
                self.stdout.write(
                    f"{result.subjects_without_key} customers or conversations have no data key any more "
                    "(deleted or shredded): nothing to re-encrypt."
                )
        if self._report_usage():
            raise CommandError(_MISSING_KEY)
        self.stdout.write(self.style.SUCCESS("Done."))

    def _bar(self, total: int, what: str, unit: str) -> tqdm:
        return tqdm(total=total, desc=what, unit=f" {unit}", file=self.stderr._out, dynamic_ncols=True, mininterval=0.5)

    def _report_usage(self) -> int:
        """Print which master key wraps how many data keys; return how many no configured key opens."""
        uses, unknown = rotation.master_key_usage()
        legacy = rotation.legacy_values_count()
        self.stdout.write("FIELD_ENCRYPTION_KEYS, newest first:")
        for use in uses:
            if use.position == 1:
                note = "newest: encrypts new data keys"
            elif use.wraps:
                note = "still needed: run rotate_encryption_keys"
            elif legacy:
                note = "wraps no data key, but may hold older values: run --data first"
            else:
                note = "decrypts nothing: safe to remove"
            self.stdout.write(f"  #{use.position} {use.fingerprint}  wraps {use.wraps} data keys  ({note})")
        if legacy:
            self.stdout.write(
                self.style.WARNING(
                    f"  {legacy} values were written before data keys, directly under a master key: "
                    "run rotate_encryption_keys --data before removing any key."
                )
            )
        if unknown:
            self.stdout.write(
                self.style.WARNING(
                    f"  {unknown} data keys are wrapped under a key that is not configured: "
                    "their customers' and conversations' contents cannot be read."
                )
            )
        return unknown
