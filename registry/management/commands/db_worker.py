"""django-tasks-db's worker, plus a reaper for trainings whose worker died mid-way."""

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from registry.tasks import reap_stale_versions

logger = logging.getLogger(__name__)


def _reap_forever() -> None:
    while True:
        try:
            reap_stale_versions()
        except Exception:  # the reaper must never take the worker down
            logger.exception("reaping stale trainings failed")
        finally:
            close_old_connections()
        time.sleep(settings.MLSERVE_REAP_INTERVAL_S)


class Command(DBWorkerCommand):
    help = "Run the task worker (trainings), recovering trainings whose worker died."

    def handle(self, *args: Any, **options: Any) -> None:
        if not options.get("batch"):
            threading.Thread(target=_reap_forever, name="reaper", daemon=True).start()
        else:
            reap_stale_versions()
        super().handle(*args, **options)
