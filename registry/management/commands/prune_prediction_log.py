"""Delete prediction log rows older than N days (run it daily, e.g. from cron)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.monitoring import predlog


class Command(BaseCommand):
    help = "Delete prediction log rows older than --days days, in batches; prints the count."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, required=True, help="keep this many days")
        parser.add_argument(
            "--batch-size", type=int, default=10_000, help="rows per DELETE (default 10000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 0:
            raise CommandError("--days must be 0 or more.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        deleted = predlog.prune(days=options["days"], batch_size=options["batch_size"])
        self.stdout.write(
            f"Deleted {deleted} prediction log row(s) older than {options['days']:g} days."
        )
