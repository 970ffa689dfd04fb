"""`python manage.py import_version FILE [--name NAME] [--owner USERNAME]`.

Imports an export file as the next version of model NAME (default: the name in the file;
`models:/NAME` too).
Without --owner the version is imported as the existing model's owner; a model that does
not exist yet needs --owner, who will own it. Every check of the API's import applies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from registry import services, serving, transfer
from registry.models import RegisteredModel


class Command(BaseCommand):
    help = "Import an export file (made by export_version or Export) as a new model version."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="the export file (.mlserve.zip)")
        parser.add_argument(
            "--name",
            help="model to import into, NAME or models:/NAME (default: the name in the file)",
        )
        parser.add_argument("--owner", help="user importing (default: the existing model's owner)")

    def handle(
        self, *args: Any, file: str, name: str | None, owner: str | None, **options: Any
    ) -> None:
        path = Path(file)
        try:
            size = path.stat().st_size
            if size > transfer.MAX_EXPORT_BYTES:  # checked before reading it into memory
                raise CommandError(
                    f"{file} is {size} bytes, more than the {transfer.MAX_EXPORT_BYTES} allowed."
                )
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        try:
            target = (name or "").strip()
            if target.startswith(serving.MODEL_URI_PREFIX):  # models:/<name>, as the API
                target = serving.model_name(target, field="--name")
            export = transfer.read_export(data)
            target = target or export.card["model"]["name"]
            user = self._user(owner, target)
            version = services.version_import(user=user, data=export, name=target)
        except services.RegistryError as exc:
            raise CommandError(exc.message) from None
        origin = version.origin
        self.stdout.write(
            f"Imported {version} (ready) from {origin['instance']}: {origin['model']} "
            f"v{origin['version']}, artifact sha256 {version.artifact_sha256}, "
            f"signature {origin['signature']}."
        )

    def _user(self, username: str | None, model_name: str) -> Any:
        if username:
            user = get_user_model().objects.filter(username=username).first()
            if user is None or not user.is_active:
                raise CommandError(f"No active user named {username!r}.")
            return user
        model = RegisteredModel.objects.select_related("owner").filter(name=model_name).first()
        if model is None:
            raise CommandError(
                f"There is no model named {model_name!r} yet: give --owner USERNAME, "
                "the user who will own it."
            )
        return model.owner
