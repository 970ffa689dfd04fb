"""`python manage.py export_version NAME V FILE`: write a ready version's export file.

FILE `-` writes to standard output. The file is written whole or not at all.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from registry import transfer
from registry.models import ModelVersion
from registry.services import RegistryError


class Command(BaseCommand):
    help = "Export a ready model version as one file (artifact + model card) for import_version."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", help="the model's name")
        parser.add_argument("version", type=int, help="the version number")
        parser.add_argument("file", help="where to write the export (.mlserve.zip); - for stdout")

    def handle(self, *args: Any, name: str, version: int, file: str, **options: Any) -> None:
        found = (
            ModelVersion.objects.select_related("model", "created_by")
            .filter(model__name=name, version=version)
            .first()
        )
        if found is None:
            raise CommandError(f"There is no version {version} of a model named {name!r}.")
        try:
            data = transfer.version_export(found)
        except RegistryError as exc:
            raise CommandError(exc.message) from None
        if file == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        _write_atomically(Path(file), data)
        self.stdout.write(
            f"Exported {found} to {file} ({len(data)} bytes, artifact sha256 "
            f"{found.artifact_sha256})."
        )


def _write_atomically(path: Path, data: bytes) -> None:
    """A crash or a full disk leaves no half-written export behind."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.")
    except OSError as exc:
        raise CommandError(f"Cannot write to {directory}: {exc}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CommandError(f"Cannot write {path}: {exc}") from None
