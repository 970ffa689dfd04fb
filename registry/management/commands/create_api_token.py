"""`python manage.py create_api_token USERNAME [--name NAME] [--scope SCOPE ...]
[--model NAME ...] [--expires-in DAYS]`: prints the token on its last line."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry.errors import RegistryError
from registry.models import TOKEN_SCOPES
from registry.tokens import token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (shown only once) on the last line."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="a label for the token")
        parser.add_argument(
            "--scope",
            action="append",
            choices=TOKEN_SCOPES,
            dest="scopes",
            help="what the token may do (repeat for several); default: every scope",
        )
        parser.add_argument(
            "--model",
            action="append",
            dest="models",
            metavar="NAME",
            help="a model the token may use (repeat for several); default: every model",
        )
        parser.add_argument(
            "--expires-in",
            type=int,
            metavar="DAYS",
            help="days until it expires; default: MLSERVE_TOKEN_MAX_DAYS "
            f"({settings.MLSERVE_TOKEN_MAX_DAYS or 'never'})",
        )

    def handle(
        self,
        *args: Any,
        username: str,
        name: str,
        scopes: list[str] | None,
        models: list[str] | None,
        expires_in: int | None,
        **options: Any,
    ) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        if expires_in is not None and expires_in < 1:
            raise CommandError("--expires-in takes a number of days, at least 1.")
        expires_at = timezone.now() + timedelta(days=expires_in) if expires_in else None
        try:
            record, token = token_create(
                user=user, name=name, scopes=scopes, models=models, expires_at=expires_at
            )
        except RegistryError as exc:
            raise CommandError(exc.message) from None
        until = f"until {record.expires_at:%Y-%m-%d %H:%M} UTC" if record.expires_at else "forever"
        on = ", ".join(record.model_names) or "every model"
        self.stdout.write(
            f"Created API token {record.name!r} for {username} ({', '.join(record.scopes)} "
            f"on {on}, {until}). It is shown once:"
        )
        self.stdout.write(token)
