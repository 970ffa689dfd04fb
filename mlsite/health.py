"""Liveness and readiness probes for the load balancer. Neither needs a login."""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

_migrated = False  # once true it stays true: only new code (a new process) adds migrations


def _unapplied_migrations() -> list[str]:
    global _migrated
    if _migrated:
        return []
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
    _migrated = not pending
    return pending


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        pending = _unapplied_migrations()
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return JsonResponse(
            {"status": "unavailable", "reason": f"database unreachable: {reason}"}, status=503
        )
    if pending:
        return JsonResponse(
            {
                "status": "unavailable",
                "reason": f"{len(pending)} unapplied migration(s)",
                "migrations": pending,
            },
            status=503,
        )
    return JsonResponse({"status": "ok", "database": connection.vendor})
