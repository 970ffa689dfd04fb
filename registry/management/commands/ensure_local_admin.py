"""Make sure a newcomer can sign in: create a local admin once and say how to sign in."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a local 'admin' superuser once (password saved under var/); say how to sign in."

    def handle(self, *args: object, **options: object) -> None:
        user_model = get_user_model()
        credentials = Path(settings.VAR_DIR) / "local-admin.txt"
        if not user_model.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            user_model.objects.create_superuser("admin", "admin@localhost", password)
            credentials.parent.mkdir(parents=True, exist_ok=True)
            credentials.touch(mode=0o600)
            credentials.write_text(f"username: admin\npassword: {password}\n")
            self.stdout.write(
                f"Created a local admin account. Sign in as 'admin' with password {password} "
                f"(also saved in {credentials})."
            )
        elif credentials.exists():
            self.stdout.write(f"Sign in with the local admin account saved in {credentials}.")
        else:
            self.stdout.write(
                "Sign in with your superuser account "
                "(make another with: .venv/bin/python manage.py createsuperuser)."
            )
