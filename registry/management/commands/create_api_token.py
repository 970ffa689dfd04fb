"""`python manage.py create_api_token USERNAME [--name NAME]`: prints the token on its last line."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from registry.tokens import token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (shown only once) on the last line."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="a label for the token")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        record, token = token_create(user=user, name=name)
        self.stdout.write(f"Created API token {record.name!r} for {username}. It is shown once:")
        self.stdout.write(token)
